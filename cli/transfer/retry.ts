/**
 * imgctl's retry (the project's one loop, functions/core/retry.ts, with the
 * HTTP transfer rule and a log line), a small worker pool and a semaphore.
 * esbuild bundles that module into imgctl: it imports nothing, so no AWS SDK
 * or configuration comes with it.
 */
import { retry } from '../../functions/core/retry.js';
import { isRetryable } from './http.js';

export interface RetryOptions {
  /** Attempts after the first. */
  retries: number;
  /** First backoff; doubles each time, capped at maxMs (default 20 s). */
  baseMs?: number;
  maxMs?: number;
  /** Whether a failure is worth another attempt (default: the HTTP transfer rule of http.ts). */
  isRetryable?: (error: unknown) => boolean;
  log?: (line: string) => void;
  what: string;
  /** Runs before the wait for the next attempt (e.g. renew an expired URL: it lives far longer than the wait). */
  beforeRetry?: (error: unknown) => Promise<void>;
  /** A wait the failure itself asks for (a Retry-After), instead of the backoff. */
  waitMs?: (error: unknown) => number | undefined;
}

export function withRetry<T>(fn: (attempt: number) => Promise<T>, options: RetryOptions): Promise<T> {
  return retry(fn, {
    retries: options.retries,
    baseMs: options.baseMs ?? 500,
    maxMs: options.maxMs ?? 20_000,
    isRetryable: options.isRetryable ?? isRetryable,
    waitMs: options.waitMs,
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
