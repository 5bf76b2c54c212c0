/**
 * The one retry loop: exponential backoff with full jitter (each wait is a
 * random time below min(maxMs, baseMs * 2^attempt), so that clients that
 * failed together spread out), and a predicate for what is worth retrying.
 * The functions, the local stack and imgctl use it alike; it imports nothing.
 */
export interface RetryPolicy {
  /** Attempts after the first. */
  retries: number;
  /** Cap of the first wait; doubles per attempt. */
  baseMs: number;
  maxMs: number;
  /** Whether a failure is worth another attempt (default: every failure is). */
  isRetryable?: (error: unknown) => boolean;
  /** Runs when a failure will be retried, before the wait (log it, renew a URL, ...). */
  onRetry?: (error: unknown, retry: number, waitMs: number) => void | Promise<void>;
  /** A wait the failure itself asks for (a Retry-After), used instead of the backoff. */
  waitMs?: (error: unknown) => number | undefined;
  /** Once aborted, no wait and no further attempt: the last failure is thrown. */
  signal?: AbortSignal;
}

/** The wait before retry number `attempt + 1`. */
export const backoffMs = (attempt: number, baseMs: number, maxMs: number): number => Math.random() * Math.min(maxMs, baseMs * 2 ** attempt);

/** Waits `ms`, or less if `signal` aborts meanwhile. */
function sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const onAbort = () => {
      clearTimeout(timeout);
      resolve();
    };
    const timeout = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/** Runs `fn` (given the attempt number, from 0) until it succeeds, fails for good, or runs out of retries. */
export async function retry<T>(fn: (attempt: number) => Promise<T>, policy: RetryPolicy): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await fn(attempt);
    } catch (error) {
      if (attempt >= policy.retries || policy.signal?.aborted || !(policy.isRetryable?.(error) ?? true)) throw error;
      const wait = policy.waitMs?.(error) ?? backoffMs(attempt, policy.baseMs, policy.maxMs);
      await policy.onRetry?.(error, attempt + 1, wait);
      await sleep(wait, policy.signal);
      if (policy.signal?.aborted) throw error;
    }
  }
}
