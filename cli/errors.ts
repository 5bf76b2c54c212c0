/**
 * The errors a command can end with, each carrying its exit code:
 * 1 the service (or S3) refused or failed the request, 2 bad usage (also
 * when the service finds the arguments bad: HTTP 400), 3 a checksum did not
 * match.
 */
export const EXIT = { ok: 0, refused: 1, usage: 2, verification: 3, interrupted: 130 } as const;

export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode: number,
  ) {
    super(message);
    this.name = new.target.name;
  }
}

/**
 * The API answered with `{success: false, reason}` (or, `envelope` false,
 * something that is not the envelope: a proxy's or another server's answer).
 */
export class RequestRefused extends CliError {
  constructor(
    readonly status: number,
    readonly reason: string,
    envelope = true,
  ) {
    // The service's 400 says the arguments were bad: a usage error.
    super(reason, status === 400 && envelope ? EXIT.usage : EXIT.refused);
  }
}

export class UsageError extends CliError {
  constructor(message: string) {
    super(message, EXIT.usage);
  }
}

export class VerificationFailed extends CliError {
  constructor(message: string) {
    super(message, EXIT.verification);
  }
}

/** A failure that is neither the API's answer nor bad usage: network, files. */
export class Failure extends CliError {
  constructor(message: string) {
    super(message, EXIT.refused);
  }
}

export class Interrupted extends CliError {
  constructor(message: string) {
    super(message, EXIT.interrupted);
  }
}
