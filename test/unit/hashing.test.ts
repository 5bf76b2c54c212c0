import { createHash, randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { setTimeout as delay } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import {
  hashRanges,
  HashAbortedError,
  HashDeadlineError,
  RangeFetchError,
  RangeLengthError,
  Sha1Error,
  splitRanges,
  type FetchRange,
  type HashStats,
  type Sha1,
} from '../../functions/core/hashing/index.js';

const sha1 = (data: Uint8Array) => createHash('sha1').update(data).digest('hex');
const EMPTY_SHA1 = 'da39a3ee5e6b4b0d3255bfef95601890afd80709';

interface FakeOptions {
  chunkSize?: number;
  /** Wait before the response "arrives". */
  firstByteMs?: (start: number) => number;
  /** Wait before each chunk. */
  chunkMs?: (start: number) => number;
  /** Make a call fail: 'reject' before the body, a number to throw after that many bytes, 'short'/'long' for a wrong body. */
  fault?: (start: number, call: number) => 'reject' | 'short' | 'long' | 'trailing' | number | undefined;
  /** Hand the body over as a Node stream, as S3 does, rather than as an async iterable. */
  stream?: boolean;
}

/**
 * A fetcher over an in-memory buffer that records what the hasher asked for:
 * calls, the most fetches open at once, and the signals it was given.
 */
function fakeFetcher(data: Buffer, options: FakeOptions = {}) {
  const { chunkSize = 4096, firstByteMs, chunkMs, fault, stream = false } = options;
  const calls: { start: number; end: number; signal: AbortSignal }[] = [];
  const callsByStart = new Map<number, number>();
  let open = 0;
  let maxOpen = 0;
  let delivered = 0;

  const fetchRange: FetchRange = async (start, end, signal) => {
    calls.push({ start, end, signal });
    const call = (callsByStart.get(start) ?? 0) + 1;
    callsByStart.set(start, call);
    open++;
    maxOpen = Math.max(maxOpen, open);
    let handedOver = false;
    try {
      const wait = firstByteMs?.(start) ?? 0;
      if (wait > 0) await delay(wait, undefined, { signal });
      const f = fault?.(start, call);
      if (f === 'reject') throw new Error(`injected failure at ${start}`);
      let slice = data.subarray(start, end + 1);
      if (f === 'short') slice = slice.subarray(0, slice.length - 1);
      if (f === 'long') slice = Buffer.concat([slice, Buffer.from([0])]);
      handedOver = true;
      const body = (async function* body() {
        try {
          for (let at = 0; at < slice.length; at += chunkSize) {
            if (typeof f === 'number' && at >= f) throw new Error(`injected reset at ${start + at}`);
            const wait = chunkMs?.(start) ?? 0;
            if (wait > 0) await delay(wait, undefined, { signal });
            signal.throwIfAborted();
            const chunk = slice.subarray(at, at + chunkSize);
            delivered += chunk.length;
            yield chunk;
          }
          if (f === 'trailing') throw new Error(`injected reset after the last byte at ${end}`);
        } finally {
          open--;
        }
      })();
      return stream ? Readable.from(body, { objectMode: false }) : body;
    } finally {
      if (!handedOver) open--;
    }
  };
  return {
    fetchRange,
    calls,
    get maxOpen() {
      return maxOpen;
    },
    get open() {
      return open;
    },
    /** Bytes handed to the hasher so far, over all ranges. */
    get delivered() {
      return delivered;
    },
  };
}

describe('splitRanges', () => {
  it('covers [0, size) with inclusive ends and a short last range', () => {
    expect(splitRanges(10, 4)).toEqual([
      { index: 0, start: 0, end: 3, length: 4 },
      { index: 1, start: 4, end: 7, length: 4 },
      { index: 2, start: 8, end: 9, length: 2 },
    ]);
    expect(splitRanges(8, 4)).toHaveLength(2);
    expect(splitRanges(0, 4)).toEqual([]);
    expect(() => splitRanges(10, 0)).toThrow(RangeError);
    expect(() => splitRanges(-1, 4)).toThrow(RangeError);
  });
});

describe.each(['async iterables', 'Node streams'] as const)('hashRanges, bodies as %s', (bodies) => {
  const stream = bodies === 'Node streams';
  it('keeps order when ranges complete out of order', async () => {
    const data = randomBytes(1_000_003);
    const fake = fakeFetcher(data, {
      stream,
      chunkSize: 3000,
      firstByteMs: () => Math.random() * 15,
      // The first range trickles, so ranges behind it surely finish before it.
      chunkMs: (start) => (start === 0 ? 2 : Math.random() < 0.1 ? Math.random() * 3 : 0),
    });
    const result = await hashRanges({ size: data.length, rangeSize: 50_000, concurrency: 6, fetchRange: fake.fetchRange });
    expect(result.sha1).toBe(sha1(data));
    expect(result.size).toBe(data.length);
    expect(fake.calls).toHaveLength(21);
    // Ranges really did finish out of order, or the test proves nothing.
    expect(result.stats.maxBufferedBytes).toBeGreaterThan(0);
  });

  it('never has more than `concurrency` ranges in flight', async () => {
    const data = randomBytes(300_000);
    const fake = fakeFetcher(data, { stream, firstByteMs: () => Math.random() * 5, chunkMs: () => Math.random() * 2 });
    let maxInFlight = 0;
    const result = await hashRanges({
      size: data.length,
      rangeSize: 10_000,
      concurrency: 3,
      fetchRange: fake.fetchRange,
      onStats: (s) => (maxInFlight = Math.max(maxInFlight, s.inFlight)),
    });
    expect(result.sha1).toBe(sha1(data));
    expect(fake.maxOpen).toBe(3);
    expect(maxInFlight).toBe(3);
    expect(result.stats.maxInFlight).toBe(3);
  });

  it('retries a range that fails once (before its body, mid-body, and at the hash cursor)', async () => {
    const data = randomBytes(200_000);
    const fake = fakeFetcher(data, {
      stream,
      chunkSize: 1000,
      // The cursor range trickles in, so the others are still ahead of it when they break.
      firstByteMs: (start) => (start === 0 ? 20 : 0),
      chunkMs: (start) => (start === 0 ? 2 : 0),
      fault: (start, call) => {
        if (call > 1) return undefined;
        if (start === 0) return 7000; // cursor range: part already hashed when it breaks
        if (start === 40_000) return 'reject';
        if (start === 60_000) return 5000; // ahead of the cursor: buffered bytes are dropped
        return undefined;
      },
    });
    const result = await hashRanges({
      size: data.length,
      rangeSize: 20_000,
      concurrency: 4,
      fetchRange: fake.fetchRange,
      retries: 2,
      backoffMs: 1,
      maxBufferedBytes: Infinity, // a held-back range would break only once it is at the cursor
    });
    expect(result.sha1).toBe(sha1(data));
    expect(result.stats.retries).toBe(3);
    // The cursor range resumed after the bytes already hashed; the others fetched the whole range again.
    const retried = fake.calls.slice().filter((c, i, all) => all.findIndex((d) => d.end === c.end) !== i);
    expect(retried.map((c) => [c.start, c.end]).sort((a, b) => (a[0] ?? 0) - (b[0] ?? 0))).toEqual([
      [7000, 19_999],
      [40_000, 59_999],
      [60_000, 79_999],
    ]);
  });

  it('rejects after the last retry and aborts the other fetches', async () => {
    const data = randomBytes(100_000);
    const fake = fakeFetcher(data, {
      stream,
      firstByteMs: (start) => (start === 30_000 ? 1 : 10_000),
      fault: (start) => (start === 30_000 ? 'reject' : undefined),
    });
    const started = Date.now();
    const error = await hashRanges({
      size: data.length,
      rangeSize: 10_000,
      concurrency: 4,
      fetchRange: fake.fetchRange,
      retries: 2,
      backoffMs: 1,
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RangeFetchError);
    expect(error).toMatchObject({ start: 30_000, end: 39_999, attempts: 3 });
    expect((error as Error).message).toMatch(/bytes=30000-39999 failed after 3 attempts: injected failure/);
    expect(Date.now() - started).toBeLessThan(5000);
    expect(fake.calls.filter((c) => c.start === 30_000)).toHaveLength(3);
    expect(fake.calls.every((c) => c.signal.aborted)).toBe(true);
    await delay(20);
    expect(fake.open).toBe(0);
  });

  it('closes the bodies it held back when the hash fails', async () => {
    const data = randomBytes(200_000);
    let maxPauses = 0;
    const fake = fakeFetcher(data, {
      stream,
      chunkSize: 1000,
      firstByteMs: (start) => (start === 0 ? 20 : 0),
      fault: (start) => (start === 0 ? 'reject' : undefined),
    });
    const error = await hashRanges({
      size: data.length,
      rangeSize: 20_000,
      concurrency: 4,
      fetchRange: fake.fetchRange,
      maxBufferedBytes: 5000,
      stagger: false, // all four start at once: the three ahead are held back before the first fails
      retries: 0,
      onStats: (s) => (maxPauses = Math.max(maxPauses, s.pauses)),
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RangeFetchError);
    expect(maxPauses).toBe(3);
    await delay(20);
    expect(fake.open).toBe(0);
  });

  it('does not retry an error the caller marks as permanent', async () => {
    const data = randomBytes(50_000);
    const fake = fakeFetcher(data, { stream, fault: (start) => (start === 0 ? 'reject' : undefined) });
    const error = await hashRanges({
      size: data.length,
      rangeSize: 10_000,
      concurrency: 2,
      fetchRange: fake.fetchRange,
      isRetryable: () => false,
    }).catch((e: unknown) => e);
    expect(error).toMatchObject({ name: 'RangeFetchError', attempts: 1 });
  });

  describe('memory bound', () => {
    const rangeSize = 64 * 1024;
    const concurrency = 4;

    it('holds while the range at the cursor is slow and the others arrive at once', async () => {
      const data = randomBytes(rangeSize * 40 + 123);
      // Every 5th range trickles in: the hash waits on it while the fast ones pile up behind it.
      const slow = (start: number) => (start / rangeSize) % 5 === 0;
      const fake = fakeFetcher(data, { stream, chunkSize: 16 * 1024, chunkMs: (start) => (slow(start) ? 3 : 0) });
      let maxBuffered = 0;
      const result = await hashRanges({
        size: data.length,
        rangeSize,
        concurrency,
        fetchRange: fake.fetchRange,
        maxBufferedBytes: Infinity, // the slots alone bound it here
        onStats: (s: Readonly<HashStats>) => (maxBuffered = Math.max(maxBuffered, s.bufferedBytes)),
      });
      expect(result.sha1).toBe(sha1(data));
      expect(maxBuffered).toBeLessThanOrEqual(concurrency * rangeSize);
      // Only the ranges ahead of the cursor are buffered, and the pile-up did happen.
      expect(maxBuffered).toBe((concurrency - 1) * rangeSize);
      expect(result.stats.maxBufferedBytes).toBe(maxBuffered);
      expect(result.stats.pauses).toBe(0);
    });

    it('holds the ranges ahead back at maxBufferedBytes, and they go on as the hash catches up', async () => {
      const data = randomBytes(rangeSize * 40 + 123);
      const chunkSize = 4 * 1024;
      const slow = (start: number) => (start / rangeSize) % 5 === 0;
      const fake = fakeFetcher(data, { stream, chunkSize, chunkMs: (start) => (slow(start) ? 3 : 0) });
      const maxBufferedBytes = rangeSize / 2;
      const result = await hashRanges({ size: data.length, rangeSize, concurrency, fetchRange: fake.fetchRange, maxBufferedBytes });
      expect(result.sha1).toBe(sha1(data));
      expect(result.stats.pauses).toBeGreaterThan(0);
      // Past the bound, each range ahead of the cursor delivers at most the chunk that crossed it.
      expect(result.stats.maxBufferedBytes).toBeGreaterThanOrEqual(maxBufferedBytes);
      expect(result.stats.maxBufferedBytes).toBeLessThan(maxBufferedBytes + (concurrency - 1) * chunkSize);
    });

    it('defaults to twice the range size', async () => {
      const data = randomBytes(rangeSize * 40 + 123);
      const slow = (start: number) => (start / rangeSize) % 5 === 0;
      const fake = fakeFetcher(data, { stream, chunkSize: 4096, chunkMs: (start) => (slow(start) ? 3 : 0) });
      const result = await hashRanges({ size: data.length, rangeSize, concurrency, fetchRange: fake.fetchRange });
      expect(result.sha1).toBe(sha1(data));
      expect(result.stats.maxBufferedBytes).toBeLessThan(2 * rangeSize + concurrency * 4096);
    });

    it('holds with a fetcher that hands over whole ranges instantly', async () => {
      const data = randomBytes(rangeSize * 64);
      const fetchRange: FetchRange = (start, end) => [data.subarray(start, end + 1)];
      let maxBuffered = 0;
      let maxInFlight = 0;
      const result = await hashRanges({
        size: data.length,
        rangeSize,
        concurrency,
        fetchRange,
        onStats: (s) => {
          maxBuffered = Math.max(maxBuffered, s.bufferedBytes);
          maxInFlight = Math.max(maxInFlight, s.inFlight);
        },
      });
      expect(result.sha1).toBe(sha1(data));
      expect(maxBuffered).toBeLessThanOrEqual(concurrency * rangeSize);
      expect(maxInFlight).toBeLessThanOrEqual(concurrency);
    });
  });

  it('staggers range starts so that equally fast ranges are not all buffered at once', async () => {
    const rangeSize = 64 * 1024;
    const data = randomBytes(rangeSize * 24);
    const run = async (stagger: boolean) => {
      const fake = fakeFetcher(data, { stream, chunkSize: 8 * 1024, chunkMs: () => 2 });
      // What had arrived when each range started: order, not wall-clock time, so a busy machine cannot change it.
      const deliveredAtStart: number[] = [];
      const fetchRange: FetchRange = (start, end, signal) => {
        deliveredAtStart.push(fake.delivered);
        return fake.fetchRange(start, end, signal);
      };
      // A stagger that waits for bytes, never for the clock.
      const result = await hashRanges({ size: data.length, rangeSize, concurrency: 4, fetchRange, stagger, staggerMaxWaitMs: 60_000 });
      expect(result.sha1).toBe(sha1(data));
      return { maxBuffered: result.stats.maxBufferedBytes, deliveredAtStart: deliveredAtStart.slice(0, 4) };
    };
    const waves = await run(false);
    const staggered = await run(true);
    // Without staggering the first four start before any byte arrives; with it, each after its predecessor received some.
    expect(waves.deliveredAtStart).toEqual([0, 0, 0, 0]);
    expect(staggered.deliveredAtStart[0]).toBe(0);
    for (let i = 1; i < 4; i++) expect(staggered.deliveredAtStart[i]).toBeGreaterThan(staggered.deliveredAtStart[i - 1] ?? 0);
    expect(staggered.maxBuffered).toBeLessThan(waves.maxBuffered);
  });

  it('gives the sha1 of nothing for an empty object without fetching', async () => {
    const fake = fakeFetcher(Buffer.alloc(0), { stream });
    const result = await hashRanges({ size: 0, rangeSize: 1024, concurrency: 4, fetchRange: fake.fetchRange });
    expect(result).toMatchObject({ sha1: EMPTY_SHA1, size: 0 });
    expect(fake.calls).toHaveLength(0);
  });

  describe('deadline', () => {
    it('fails at once when the time left is already under the margin', async () => {
      const fake = fakeFetcher(randomBytes(1000), { stream });
      const error = await hashRanges({
        size: 1000,
        rangeSize: 100,
        concurrency: 2,
        fetchRange: fake.fetchRange,
        deadline: () => 3000,
        minTimeLeftMs: 5000,
      }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(HashDeadlineError);
      expect((error as Error).message).toMatch(/too large to hash before the Lambda timeout/);
      expect(fake.calls).toHaveLength(0);
    });

    it('fails early when the measured throughput cannot finish in time', async () => {
      // ~100 kB per 10 ms chunk per range at most: 10 MB would take far longer than the 3 s allowed.
      const size = 10_000_000;
      const data = Buffer.alloc(size, 7);
      const fake = fakeFetcher(data, { stream, chunkSize: 10_000, chunkMs: () => 10 });
      const endsAt = Date.now() + 3000;
      const started = Date.now();
      const error = await hashRanges({
        size,
        rangeSize: 100_000,
        concurrency: 2,
        fetchRange: fake.fetchRange,
        deadline: () => endsAt - Date.now(),
        minTimeLeftMs: 1000,
        warmupMs: 100,
        deadlineCheckIntervalMs: 20,
      }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(HashDeadlineError);
      const deadlineError = error as HashDeadlineError;
      expect(deadlineError.projectedMs).toBeGreaterThan(2000);
      expect(deadlineError.message).toMatch(/too large to hash before the Lambda timeout: .* MB left would take/);
      // Failed as soon as the projection was possible, not at the deadline.
      expect(Date.now() - started).toBeLessThan(1000);
      expect(fake.calls.every((c) => c.signal.aborted)).toBe(true);
    });

    it('lets a hash that fits finish', async () => {
      const data = randomBytes(500_000);
      const fake = fakeFetcher(data, { stream, chunkMs: () => 1 });
      const result = await hashRanges({
        size: data.length,
        rangeSize: 50_000,
        concurrency: 4,
        fetchRange: fake.fetchRange,
        deadline: () => 60_000,
        minTimeLeftMs: 1000,
        warmupMs: 10,
        deadlineCheckIntervalMs: 5,
      });
      expect(result.sha1).toBe(sha1(data));
    });
  });

  describe('body length', () => {
    it('detects a short body and retries it', async () => {
      const data = randomBytes(100_000);
      const fake = fakeFetcher(data, { stream, fault: (start, call) => (start === 20_000 && call === 1 ? 'short' : undefined) });
      const result = await hashRanges({
        size: data.length,
        rangeSize: 20_000,
        concurrency: 3,
        fetchRange: fake.fetchRange,
        backoffMs: 1,
      });
      expect(result.sha1).toBe(sha1(data));
      expect(result.stats.retries).toBe(1);
    });

    it('rejects when a range is always short, naming the length', async () => {
      const data = randomBytes(100_000);
      // Short every time, including the retry that resumes after the bytes already hashed.
      const fake = fakeFetcher(data, { stream, fault: (start) => (start >= 40_000 && start < 60_000 ? 'short' : undefined) });
      const error = await hashRanges({
        size: data.length,
        rangeSize: 20_000,
        concurrency: 3,
        fetchRange: fake.fetchRange,
        retries: 1,
        backoffMs: 1,
      }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(RangeFetchError);
      const cause = (error as RangeFetchError).cause;
      expect(cause).toBeInstanceOf(RangeLengthError);
      expect(cause).toMatchObject({ expected: 20_000, received: 19_999 });
      expect((error as Error).message).toMatch(/short body for bytes=40000-59999: got 19999 of 20000 bytes/);
    });

    it('keeps a range whose every byte arrived before an error', async () => {
      const data = randomBytes(60_000);
      const fake = fakeFetcher(data, { stream, fault: () => 'trailing' });
      const result = await hashRanges({ size: data.length, rangeSize: 20_000, concurrency: 2, fetchRange: fake.fetchRange });
      expect(result.sha1).toBe(sha1(data));
      expect(result.stats.retries).toBe(0);
      expect(fake.calls).toHaveLength(3);
    });

    it('rejects a body longer than the range', async () => {
      const data = randomBytes(50_000);
      const fake = fakeFetcher(data, { stream, fault: (start) => (start === 0 ? 'long' : undefined) });
      const error = await hashRanges({
        size: data.length,
        rangeSize: 25_000,
        concurrency: 2,
        fetchRange: fake.fetchRange,
        retries: 0,
      }).catch((e: unknown) => e);
      expect((error as RangeFetchError).cause).toBeInstanceOf(RangeLengthError);
    });
  });

  it("stops when the caller's signal aborts", async () => {
    const data = randomBytes(100_000);
    const fake = fakeFetcher(data, { stream, chunkMs: () => 50 });
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 30);
    const error = await hashRanges({
      size: data.length,
      rangeSize: 10_000,
      concurrency: 2,
      fetchRange: fake.fetchRange,
      signal: controller.signal,
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(HashAbortedError);
    expect(fake.calls.every((c) => c.signal.aborted)).toBe(true);
  });

  it('rejects bad options', async () => {
    const fetchRange: FetchRange = () => [];
    await expect(hashRanges({ size: 10, rangeSize: 0, concurrency: 1, fetchRange })).rejects.toThrow(RangeError);
    await expect(hashRanges({ size: 10, rangeSize: 5, concurrency: 0, fetchRange })).rejects.toThrow(RangeError);
  });
});

/**
 * A resumable-looking hash that fails where its thread can: `update` after
 * `failAfter` bytes (having taken the chunk), `save`, or `digest`.
 */
function failingSha1(fail: { failAfter?: number; save?: boolean; digest?: boolean }): Sha1 & { updated: number } {
  const inner = createHash('sha1');
  const hash = {
    resumable: true,
    updated: 0,
    update(chunk: Uint8Array) {
      inner.update(chunk);
      hash.updated += chunk.byteLength;
      if (fail.failAfter !== undefined && hash.updated > fail.failAfter) throw new Sha1Error('the SHA-1 thread failed: injected');
    },
    save() {
      if (fail.save) throw new Sha1Error('the SHA-1 thread did not answer: injected');
      return new Uint8Array([1]);
    },
    digest() {
      if (fail.digest) throw new Sha1Error('the SHA-1 thread failed at the digest: injected');
      return inner.digest('hex');
    },
    close: () => undefined,
  };
  return hash;
}

describe('hashRanges, when the hash itself fails', () => {
  const data = randomBytes(200_000);

  it('rejects with the failure of an update at once, and fetches nothing again (its bytes may be in the hash)', async () => {
    const fake = fakeFetcher(data, { chunkSize: 1000 });
    const sha1 = failingSha1({ failAfter: 50_000 });
    const error = await hashRanges({ size: data.length, rangeSize: 20_000, concurrency: 3, fetchRange: fake.fetchRange, sha1 }).catch(
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(Sha1Error);
    // No range was asked for twice: a retry would have fed bytes the hash may hold already.
    expect(new Set(fake.calls.map((c) => c.start)).size).toBe(fake.calls.length);
    expect(fake.calls.every((c) => c.signal.aborted)).toBe(true);
  });

  it('rejects with the failure of the digest instead of never settling', async () => {
    const fake = fakeFetcher(data, { chunkSize: 1000 });
    const sha1 = failingSha1({ digest: true });
    await expect(hashRanges({ size: data.length, rangeSize: 20_000, concurrency: 3, fetchRange: fake.fetchRange, sha1 })).rejects.toThrow(
      /at the digest/,
    );
    expect(sha1.updated).toBe(data.length);
  });

  it('rejects with the failure of a checkpoint save, in the timer, without an uncaught exception', async () => {
    const fake = fakeFetcher(data, { chunkSize: 1000, chunkMs: () => 2 });
    const sha1 = failingSha1({ save: true });
    const checkpoints: number[] = [];
    await expect(
      hashRanges({
        size: data.length,
        rangeSize: 20_000,
        concurrency: 2,
        fetchRange: fake.fetchRange,
        sha1,
        checkpointIntervalMs: 20,
        onCheckpoint: ({ offset }) => checkpoints.push(offset),
      }),
    ).rejects.toThrow(/did not answer/);
    expect(checkpoints).toEqual([]);
  });

  it('rejects with the failure of the save at the deadline, rather than a deadline error without its state', async () => {
    const fake = fakeFetcher(data, { chunkSize: 1000, chunkMs: () => 5 });
    const sha1 = failingSha1({ save: true });
    let left = 10_000;
    await expect(
      hashRanges({
        size: data.length,
        rangeSize: 20_000,
        concurrency: 2,
        fetchRange: fake.fetchRange,
        sha1,
        deadline: () => (left -= 1_000),
        minTimeLeftMs: 5_000,
        deadlineCheckIntervalMs: 10,
      }),
    ).rejects.toBeInstanceOf(Sha1Error);
  });
});
