/**
 * Optimistic writes: read, decide, write on condition; when the condition
 * shows someone else wrote first, read again and retry, with jittered
 * backoff so that racing writers spread out (core/retry.ts).
 */
import { retry } from '../retry.js';
import { TransactionConflict } from './transact.js';

/** Thrown by an attempt whose read went stale before its write: retry. */
export class Stale extends Error {
  override readonly name = 'Stale';
}

const MAX_ATTEMPTS = 8;

const lostToAnother = (error: unknown): boolean => error instanceof Stale || error instanceof TransactionConflict;

/**
 * Runs `attempt` until it returns, retrying on Stale or a transaction that
 * lost to a concurrent one; after MAX_ATTEMPTS, throws what `exhausted` gives.
 */
export async function retryWhileStale<T>(attempt: () => Promise<T>, exhausted: () => Error): Promise<T> {
  try {
    return await retry(attempt, { retries: MAX_ATTEMPTS - 1, baseMs: 10, maxMs: 160, isRetryable: lostToAnother });
  } catch (error) {
    throw lostToAnother(error) ? exhausted() : error;
  }
}
