/**
 * The one retry loop for optimistic writes: read, decide, write on condition;
 * when the condition shows someone else wrote first, read again and retry,
 * with a little jitter so that racing writers spread out.
 */
import { TransactionConflict } from './transact.js';

/** Thrown by an attempt whose read went stale before its write: retry. */
export class Stale extends Error {
  override readonly name = 'Stale';
}

const MAX_ATTEMPTS = 8;

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Runs `attempt` until it returns, retrying on Stale or a transaction that
 * lost to a concurrent one; after MAX_ATTEMPTS, throws what `exhausted` gives.
 */
export async function retryWhileStale<T>(attempt: () => Promise<T>, exhausted: () => Error): Promise<T> {
  for (let n = 0; n < MAX_ATTEMPTS; n++) {
    try {
      return await attempt();
    } catch (error) {
      if (!(error instanceof Stale || error instanceof TransactionConflict)) throw error;
    }
    await sleep(Math.random() * 20 * (n + 1));
  }
  throw exhausted();
}
