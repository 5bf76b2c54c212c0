/**
 * The errors a command can end with, each carrying its exit code:
 * 1 the service (or S3) refused or failed the request, 2 bad usage,
 * 3 a checksum did not match.
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

/** The API answered with `{success: false, reason}` (or something that is not the envelope). */
export class RequestRefused extends CliError {
  constructor(
    readonly status: number,
    readonly reason: string,
  ) {
    super(reason, EXIT.refused);
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
