/** Base class, so callers can tell hashing failures from their own bugs with one `instanceof`. */
export class HashError extends Error {
  override readonly name: string = 'HashError';
}

/** A range body that ended early (or ran long); retried like any fetch failure. */
export class RangeLengthError extends HashError {
  override readonly name = 'RangeLengthError';
  constructor(
    readonly start: number,
    readonly end: number,
    readonly expected: number,
    readonly received: number,
  ) {
    super(
      received < expected
        ? `short body for bytes=${start}-${end}: got ${received} of ${expected} bytes`
        : `long body for bytes=${start}-${end}: got more than the ${expected} bytes asked for`,
    );
  }
}

/** A range kept failing after every retry; the whole hash is abandoned. */
export class RangeFetchError extends HashError {
  override readonly name = 'RangeFetchError';
  constructor(
    readonly start: number,
    readonly end: number,
    readonly attempts: number,
    override readonly cause: unknown,
  ) {
    super(
      `fetching bytes=${start}-${end} failed after ${attempts} attempt${attempts === 1 ? '' : 's'}: ${
        cause instanceof Error ? cause.message : String(cause)
      }`,
      { cause },
    );
  }
}

/** Where a resumable hash stopped: every byte before `offset` is in `state`. */
export interface HashCheckpoint {
  offset: number;
  state: Uint8Array;
}

/**
 * The object cannot be hashed before the invocation's deadline: either time is
 * already short, or the measured throughput projects past it. Raised early so
 * the caller still has time to record the failure, or, for a resumable hash,
 * to save `checkpoint` and go on in another invocation.
 */
export class HashDeadlineError extends HashError {
  override readonly name = 'HashDeadlineError';
  constructor(
    readonly size: number,
    readonly bytesHashed: number,
    readonly timeLeftMs: number,
    /** Projected time to finish, or undefined when no throughput was measured yet. */
    readonly projectedMs: number | undefined,
    readonly checkpoint?: HashCheckpoint,
  ) {
    const mb = (n: number) => (n / 1e6).toFixed(1);
    super(
      checkpoint
        ? `hash paused at byte ${checkpoint.offset} of ${size} before the Lambda timeout (${Math.round(timeLeftMs)} ms left)`
        : `object of ${mb(size)} MB is too large to hash before the Lambda timeout: ` +
            (projectedMs === undefined
              ? `only ${Math.round(timeLeftMs)} ms left after ${mb(bytesHashed)} MB`
              : `${mb(size - bytesHashed)} MB left would take ~${Math.ceil(projectedMs / 1000)} s ` +
                `at the measured rate, but only ${Math.floor(timeLeftMs / 1000)} s remain`),
    );
  }
}

/** The SHA-1 computation itself failed (the resumable hash's thread): nothing a retry of a fetch mends. */
export class Sha1Error extends HashError {
  override readonly name = 'Sha1Error';
}

/** The caller's AbortSignal fired. */
export class HashAbortedError extends HashError {
  override readonly name = 'HashAbortedError';
  constructor(override readonly cause?: unknown) {
    super('hashing was aborted', { cause });
  }
}
