/** Retries of transfers (the shared backoff of functions/core/retry.ts), a small worker pool and a semaphore. */
import { retry } from '../../functions/core/retry.js';
import { isRetryable } from './http.js';

export interface RetryOptions {
  /** Attempts after the first. */
  retries: number;
  /** First backoff; doubles each time, capped at 20 s. */
  baseMs?: number;
  log?: (line: string) => void;
  what: string;
  /** Runs before the next attempt, as its wait begins (e.g. renew an expired URL). */
  beforeRetry?: (error: unknown) => Promise<void>;
}

export function withRetry<T>(fn: (attempt: number) => Promise<T>, options: RetryOptions): Promise<T> {
  return retry(fn, {
    retries: options.retries,
    baseMs: options.baseMs ?? 500,
    maxMs: 20_000,
    isRetryable,
    onRetry: async (error, n, wait) => {
      options.log?.(`${options.what}: ${(error as Error).message}; retry ${n}/${options.retries} in ${Math.round(wait)} ms`);
      await options.beforeRetry?.(error);
    },
  });
}

/** Runs `work` on every item with at most `concurrency` at a time; the first error stops new work. */
export async function pool<T>(items: readonly T[], concurrency: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  let failed: { error: unknown } | undefined;
  const worker = async () => {
    while (!failed && next < items.length) {
      const item = items[next++] as T;
      try {
        await work(item);
      } catch (error) {
        failed ??= { error };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(concurrency, items.length)) }, worker));
  if (failed) throw failed.error;
}

/** A counting semaphore: at most `size` holders at once; waiters are served in order. */
export class Slots {
  private used = 0;
  private readonly waiting: (() => void)[] = [];

  constructor(private readonly size: number) {}

  async acquire(): Promise<void> {
    if (this.used < this.size) {
      this.used++;
      return;
    }
    // The releasing holder hands its slot straight to the first waiter.
    await new Promise<void>((resolve) => this.waiting.push(resolve));
  }

  release(): void {
    const next = this.waiting.shift();
    if (next) next();
    else this.used--;
  }
}
