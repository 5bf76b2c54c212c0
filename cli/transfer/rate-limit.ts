/**
 * `--limit-rate`: one token bucket shared by every part or range stream of a
 * transfer, so the whole transfer moves at most `bytesPerSecond` (as curl's
 * --limit-rate and rclone's --bwlimit). A stream takes tokens for each block
 * before it writes it (upload) or after it read it (download, so the socket
 * is not read meanwhile and TCP slows the sender). Takers queue in order: a
 * take that overdraws the bucket waits until the refill has paid the debt.
 */
import { setTimeout as sleep } from 'node:timers/promises';

/**
 * Tokens saved up while no stream takes any, in seconds of the rate: a
 * transfer that stalled (a new range request, a busy disk) catches up on up
 * to a second of it, so the whole transfer keeps to the rate, not less.
 */
const BURST_S = 1;

export class RateLimit {
  private tokens = 0;
  private last = performance.now();

  constructor(readonly bytesPerSecond: number) {
    if (!(bytesPerSecond > 0)) throw new Error(`a rate must be positive, not ${bytesPerSecond}`);
  }

  /** Block size for streams under this limit: about 20 blocks a second, 16 KiB to 1 MiB. */
  get blockSize(): number {
    return Math.min(1024 * 1024, Math.max(16 * 1024, 2 ** Math.floor(Math.log2(this.bytesPerSecond / 20))));
  }

  /** Resolves when `n` bytes may move. */
  async take(n: number): Promise<void> {
    const now = performance.now();
    this.tokens = Math.min(this.bytesPerSecond * BURST_S, this.tokens + ((now - this.last) / 1000) * this.bytesPerSecond);
    this.last = now;
    this.tokens -= n;
    if (this.tokens < 0) await sleep((-this.tokens / this.bytesPerSecond) * 1000);
  }
}

/** Parses a rate as curl does: bytes per second, `k`/`M`/`G` suffixes in powers of 1024 (`20M`, `512k`). */
export function parseRate(text: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([kmgt]?)(?:i?b)?(?:\/s)?\s*$/i.exec(text);
  if (!m) throw new Error(`"${text}" is not a rate in bytes per second (e.g. 20M, 512k, 1G)`);
  const n = Math.round(Number(m[1]) * 1024 ** ['', 'k', 'm', 'g', 't'].indexOf((m[2] ?? '').toLowerCase()));
  if (n < 1) throw new Error(`"${text}" is less than one byte per second`);
  return n;
}
