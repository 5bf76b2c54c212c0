import { HashAbortedError, HashDeadlineError, RangeFetchError, RangeLengthError, type HashCheckpoint } from './errors.js';
import { retry } from '../retry.js';
import { splitRanges, type ByteRange } from './ranges.js';
import { readBody, type BodyReading, type RangeBody } from './read-body.js';
import { nativeSha1, type Sha1 } from './sha1.js';

export type { RangeBody };

/**
 * Fetches bytes [start, endInclusive] of the object. It must stop (reject, or
 * make the body throw or end) when `signal` aborts, so a failed hash releases
 * its connections.
 */
export type FetchRange = (start: number, endInclusive: number, signal: AbortSignal) => Promise<RangeBody> | RangeBody;

export interface HashStats {
  /** Bytes received but not hashed yet: the ranges ahead of the hash cursor. */
  bufferedBytes: number;
  maxBufferedBytes: number;
  /** Ranges holding a slot: being fetched, waiting to be hashed, or backing off before a retry. */
  inFlight: number;
  maxInFlight: number;
  /** Every byte received, including bytes thrown away by a retry. */
  receivedBytes: number;
  hashedBytes: number;
  retries: number;
  /** Times a range ahead of the cursor was held back because maxBufferedBytes was reached. */
  pauses: number;
}

/** maxBufferedBytes, unless given, in ranges. */
export const DEFAULT_BUFFERED_RANGES = 2;

export interface HashRangesOptions {
  /** The whole object's size. */
  size: number;
  /** Bytes before this were hashed already, into `sha1` (default 0). */
  offset?: number;
  /**
   * The hash to feed (default: a fresh native one). With a resumable one the
   * deadline does not fail the hash: it stops, and the HashDeadlineError
   * carries the checkpoint to continue from.
   */
  sha1?: Sha1;
  /**
   * Called every checkpointIntervalMs (default 5000) while hashing, with the
   * offset reached and, for a resumable hash, the state there: progress to
   * show, and a point to resume from should this run be lost.
   */
  onCheckpoint?: (progress: { offset: number; state: Uint8Array | undefined }) => void;
  checkpointIntervalMs?: number;
  rangeSize: number;
  /** Ranges in flight at once. */
  concurrency: number;
  fetchRange: FetchRange;
  /**
   * Most bytes kept ahead of the hash (default DEFAULT_BUFFERED_RANGES ×
   * rangeSize). A range ahead of the cursor that delivers a chunk past it is
   * held back until the hash catches up. Buffering more gains nothing when the
   * hash is slower than the network; it only holds memory (the benchmark's
   * peak RSS on 1 GiB fell from 210-250 MB to about 175 MB with this bound).
   */
  maxBufferedBytes?: number;
  /**
   * Start ranges staggered, each once the previous one has received
   * rangeSize / concurrency bytes (or after staggerMaxWaitMs), instead of all
   * at once (default true). Ranges started together finish together and are
   * all buffered at once, in waves; staggered, they finish one after another
   * and about half as much is buffered at the peak.
   */
  stagger?: boolean;
  staggerMaxWaitMs?: number;
  /** Retries per range after its first failure (default 3). */
  retries?: number;
  /** First backoff; doubles per attempt, with jitter, up to maxBackoffMs (defaults 200 and 5000). */
  backoffMs?: number;
  maxBackoffMs?: number;
  /** Whether a failure is worth retrying (default: all are). */
  isRetryable?: (error: unknown) => boolean;
  /** Milliseconds left before the caller's deadline, e.g. `context.getRemainingTimeInMillis`. */
  deadline?: () => number;
  /** Time to keep in hand at the deadline, to record the outcome (default 5000). */
  minTimeLeftMs?: number;
  /** No projection before this much time has passed: early throughput is noise (default 1000). */
  warmupMs?: number;
  /** How often the deadline is checked while ranges stream (default 500). */
  deadlineCheckIntervalMs?: number;
  signal?: AbortSignal;
  /** Called synchronously after every change with the live stats object (copy it to keep it). */
  onStats?: (stats: Readonly<HashStats>) => void;
}

export interface HashResult {
  /** Lower-case hex. */
  sha1: string;
  size: number;
  stats: HashStats & { elapsedMs: number };
}

interface Slot {
  readonly range: ByteRange;
  /** Bytes of the range accounted for: hashed + buffered. A retry resumes here. */
  pos: number;
  hashed: number;
  buffered: number;
  /** Chunks ahead of the cursor, kept by reference: nothing is copied. */
  chunks: Uint8Array[];
  failures: number;
  done: boolean;
  /** The body being read, while there is one. */
  reading: BodyReading | undefined;
  /** Held back: maxBufferedBytes was reached while it was ahead of the cursor. */
  paused: boolean;
}

/**
 * sha1 and size of an object fetched as parallel ranges.
 *
 * Ranges are fetched up to `concurrency` at a time and fed to one hash in
 * order. The range at the hash cursor is hashed chunk by chunk as it arrives;
 * only ranges ahead of the cursor are buffered. A range keeps its slot until
 * it has been hashed (not merely received), so at most concurrency - 1 ranges
 * are ever buffered; and past maxBufferedBytes the ranges ahead are held back,
 * so that (give or take one chunk per range) no more is.
 *
 * A failed range is retried with backoff. Bytes already hashed are kept and the
 * retry fetches the rest of the range; buffered bytes are dropped and fetched
 * again. After the last retry the hash rejects with a RangeFetchError and
 * aborts every other fetch.
 */
export function hashRanges(options: HashRangesOptions): Promise<HashResult> {
  const {
    size,
    rangeSize,
    concurrency,
    fetchRange,
    maxBufferedBytes = DEFAULT_BUFFERED_RANGES * rangeSize,
    stagger = true,
    staggerMaxWaitMs = 100,
    retries = 3,
    backoffMs = 200,
    maxBackoffMs = 5000,
    isRetryable = () => true,
    deadline,
    minTimeLeftMs = 5000,
    warmupMs = 1000,
    deadlineCheckIntervalMs = 500,
    signal: callerSignal,
    onStats,
    offset = 0,
    onCheckpoint,
    checkpointIntervalMs = 5000,
  } = options;
  if (!Number.isSafeInteger(concurrency) || concurrency < 1) {
    return Promise.reject(new RangeError(`concurrency must be a positive integer, got ${concurrency}`));
  }
  if (!Number.isSafeInteger(retries) || retries < 0) {
    return Promise.reject(new RangeError(`retries must be a non-negative integer, got ${retries}`));
  }
  if (!Number.isSafeInteger(offset) || offset < 0 || offset > size) {
    return Promise.reject(new RangeError(`offset must be an integer from 0 to size (${size}), got ${offset}`));
  }
  let ranges: ByteRange[];
  try {
    ranges = splitRanges(size - offset, rangeSize).map((r) => ({ ...r, start: r.start + offset, end: r.end + offset }));
  } catch (error) {
    return Promise.reject(error);
  }
  const hash = options.sha1 ?? nativeSha1();
  if (offset > 0 && !hash.resumable) {
    return Promise.reject(new RangeError('a hash that starts past byte 0 needs the resumable sha1 holding those bytes'));
  }

  return new Promise<HashResult>((resolve, reject) => {
    const controller = new AbortController();
    const slots: (Slot | undefined)[] = new Array<Slot | undefined>(ranges.length);
    const stats: HashStats = {
      bufferedBytes: 0,
      maxBufferedBytes: 0,
      inFlight: 0,
      maxInFlight: 0,
      receivedBytes: 0,
      hashedBytes: 0,
      retries: 0,
      pauses: 0,
    };
    const startedAt = performance.now();
    let cursor = 0; // next range to hash
    let next = 0; // next range to start fetching
    let settled = false;
    let timer: NodeJS.Timeout | undefined;
    let newest: Slot | undefined; // the range started last, for staggering
    let newestStartedAt = 0;
    let staggerTimer: NodeJS.Timeout | undefined;
    let checkpointTimer: NodeJS.Timeout | undefined;
    const staggerBytes = Math.ceil(rangeSize / concurrency);

    const onCallerAbort = () => fail(new HashAbortedError(callerSignal?.reason));

    function cleanup() {
      settled = true;
      if (timer) clearInterval(timer);
      if (checkpointTimer) clearInterval(checkpointTimer);
      if (staggerTimer) clearTimeout(staggerTimer);
      callerSignal?.removeEventListener('abort', onCallerAbort);
    }

    function fail(error: unknown) {
      if (settled) return;
      cleanup();
      controller.abort(error);
      // A held-back body reads nothing, so it would never notice the abort: let it read on,
      // into the check that closes it.
      for (const slot of slots) slot?.reading?.resume();
      slots.fill(undefined); // let buffered chunks go now, not when the last fetch notices the abort
      stats.bufferedBytes = 0;
      reject(error);
    }

    function finish() {
      let sha1: string;
      try {
        sha1 = hash.digest();
      } catch (error) {
        fail(error);
        return;
      }
      cleanup();
      resolve({ sha1, size, stats: { ...stats, elapsedMs: performance.now() - startedAt } });
    }

    /**
     * False once the hash itself failed (the resumable hash's thread): that
     * fails the whole hash at once, and is never retried as a fetch failure
     * would be (its bytes might be in the hash already).
     */
    function hashChunk(slot: Slot, chunk: Uint8Array): boolean {
      // Read first: the hash takes the chunk over (a resumable one moves its memory to its thread).
      const length = chunk.byteLength;
      try {
        hash.update(chunk);
      } catch (error) {
        fail(error);
        return false;
      }
      slot.hashed += length;
      stats.hashedBytes += length;
      return true;
    }

    /** The hash's state now, or undefined once that failed the hash. */
    function savedState(): { state: Uint8Array | undefined } | undefined {
      try {
        return { state: hash.save() };
      } catch (error) {
        fail(error);
        return undefined;
      }
    }

    function accept(slot: Slot, chunk: Uint8Array) {
      const { range } = slot;
      if (slot.pos + chunk.byteLength > range.length) {
        throw new RangeLengthError(range.start, range.end, range.length, slot.pos + chunk.byteLength);
      }
      slot.pos += chunk.byteLength;
      stats.receivedBytes += chunk.byteLength;
      if (range.index === cursor) {
        if (!hashChunk(slot, chunk)) return;
      } else {
        slot.chunks.push(chunk);
        slot.buffered += chunk.byteLength;
        stats.bufferedBytes += chunk.byteLength;
        if (stats.bufferedBytes > stats.maxBufferedBytes) stats.maxBufferedBytes = stats.bufferedBytes;
        if (stats.bufferedBytes >= maxBufferedBytes && !slot.paused) {
          slot.paused = true;
          stats.pauses++;
          slot.reading?.pause();
        }
      }
      onStats?.(stats);
      if (staggerTimer && slot === newest && slot.pos >= staggerBytes) schedule();
    }

    /** Hashes every finished range at the cursor, then what the new cursor range has buffered. */
    function advance() {
      for (;;) {
        const slot = slots[cursor];
        if (!slot?.done) break;
        slots[cursor] = undefined;
        stats.inFlight--;
        cursor++;
        const following = slots[cursor];
        if (following && following.buffered > 0) {
          for (const chunk of following.chunks) if (!hashChunk(following, chunk)) return;
          stats.bufferedBytes -= following.buffered;
          following.chunks = [];
          following.buffered = 0;
        }
      }
      resumeHeld();
      onStats?.(stats);
      if (cursor === ranges.length) finish();
      else if (checkDeadline()) schedule();
    }

    /**
     * Lets held-back ranges go on: the one at the cursor always (it is hashed as
     * it arrives), the others while there is room under maxBufferedBytes.
     */
    function resumeHeld() {
      for (let index = cursor; index < next; index++) {
        const slot = slots[index];
        if (!slot?.paused) continue;
        if (index !== cursor && stats.bufferedBytes >= maxBufferedBytes) break;
        slot.paused = false;
        slot.reading?.resume();
      }
    }

    /** True while the newest range has not run far enough ahead to start the next one. */
    function mustStagger(): boolean {
      if (!stagger || !newest || newest.done || newest.pos >= staggerBytes) return false;
      const waitMs = newestStartedAt + staggerMaxWaitMs - performance.now();
      if (waitMs <= 0) return false;
      if (!staggerTimer) {
        staggerTimer = setTimeout(() => {
          staggerTimer = undefined;
          schedule();
        }, waitMs);
      }
      return true;
    }

    function schedule() {
      if (staggerTimer) {
        clearTimeout(staggerTimer);
        staggerTimer = undefined;
      }
      while (!settled && next < ranges.length && stats.inFlight < concurrency && !mustStagger()) {
        const range = ranges[next] as ByteRange;
        const slot: Slot = {
          range,
          pos: 0,
          hashed: 0,
          buffered: 0,
          chunks: [],
          failures: 0,
          done: false,
          reading: undefined,
          paused: false,
        };
        slots[next] = slot;
        newest = slot;
        newestStartedAt = performance.now();
        next++;
        stats.inFlight++;
        if (stats.inFlight > stats.maxInFlight) stats.maxInFlight = stats.inFlight;
        void attempt(slot);
      }
      onStats?.(stats);
    }

    /** Fetches a range, retrying failures with backoff (core/retry.ts); the last failure fails the hash. */
    async function attempt(slot: Slot): Promise<void> {
      try {
        await retry(() => fetchOnce(slot), {
          retries,
          baseMs: backoffMs,
          maxMs: maxBackoffMs,
          isRetryable,
          signal: controller.signal,
          onRetry: () => {
            stats.retries++;
            onStats?.(stats);
          },
        });
      } catch (error) {
        if (!settled) fail(new RangeFetchError(slot.range.start, slot.range.end, slot.failures, error));
      }
    }

    async function fetchOnce(slot: Slot): Promise<void> {
      if (settled) return;
      const { range } = slot;
      try {
        const body = await fetchRange(range.start + slot.pos, range.end, controller.signal);
        if (settled) {
          await closeBody(body);
          return;
        }
        slot.reading = readBody(body, (chunk) => {
          if (settled) return false;
          accept(slot, chunk);
          return true;
        });
        await slot.reading.done;
        if (settled) return;
        if (slot.pos < range.length) {
          throw new RangeLengthError(range.start, range.end, range.length, slot.pos);
        }
        slot.done = true;
        if (range.index === cursor) advance();
      } catch (error) {
        if (settled) return;
        // Every byte arrived and was counted; an error after the last one (a reset while
        // closing) takes nothing away, and a retry would have no bytes left to ask for.
        if (slot.pos === range.length) {
          slot.done = true;
          if (range.index === cursor) advance();
          return;
        }
        dropUnhashed(slot);
        throw error;
      }
    }

    /** After a failure: hashed bytes cannot be taken back, so a retry resumes after them; buffered ones are fetched again. */
    function dropUnhashed(slot: Slot) {
      stats.bufferedBytes -= slot.buffered;
      slot.chunks = [];
      slot.buffered = 0;
      slot.pos = slot.hashed;
      slot.reading = undefined;
      slot.paused = false;
      slot.failures++;
      resumeHeld();
    }

    /** Fails the hash at the deadline, with the state to continue from when the hash has one. */
    function stopAtDeadline(timeLeftMs: number) {
      const saved = savedState();
      if (!saved) return;
      // Every hashed byte is in the state, in order from byte 0.
      const checkpoint: HashCheckpoint | undefined = saved.state ? { offset: offset + stats.hashedBytes, state: saved.state } : undefined;
      fail(new HashDeadlineError(size, stats.hashedBytes, timeLeftMs, undefined, checkpoint));
    }

    /** False (and the hash rejected) when the object cannot be finished in time. */
    function checkDeadline(): boolean {
      if (!deadline || settled) return !settled;
      const timeLeftMs = deadline();
      const budgetMs = timeLeftMs - minTimeLeftMs;
      if (budgetMs <= 0) {
        stopAtDeadline(timeLeftMs);
        return false;
      }
      // A resumable hash goes on to the last moment and continues elsewhere; only the native one must fit.
      if (hash.resumable) return true;
      const elapsedMs = performance.now() - startedAt;
      // Received-but-buffered bytes count as done: hashing them is quick next to fetching.
      const kept = stats.hashedBytes + stats.bufferedBytes;
      if (elapsedMs < warmupMs || kept === 0) return true;
      const projectedMs = ((size - offset - kept) * elapsedMs) / kept;
      if (projectedMs > budgetMs) {
        fail(new HashDeadlineError(size, stats.hashedBytes, timeLeftMs, projectedMs));
        return false;
      }
      return true;
    }

    if (callerSignal?.aborted) {
      fail(new HashAbortedError(callerSignal.reason));
      return;
    }
    callerSignal?.addEventListener('abort', onCallerAbort, { once: true });
    if (ranges.length === 0) {
      finish();
      return;
    }
    if (!checkDeadline()) return;
    if (deadline) {
      timer = setInterval(checkDeadline, deadlineCheckIntervalMs);
      timer.unref(); // the fetches keep the process alive, not this check
    }
    if (onCheckpoint) {
      checkpointTimer = setInterval(() => {
        if (settled) return;
        const saved = savedState();
        if (saved) onCheckpoint({ offset: offset + stats.hashedBytes, state: saved.state });
      }, checkpointIntervalMs);
      checkpointTimer.unref();
    }
    schedule();
  });
}

/** Closes a body that will not be read (a fetch that finished after the hash failed). */
async function closeBody(body: RangeBody): Promise<void> {
  try {
    if (Symbol.asyncIterator in body) await body[Symbol.asyncIterator]().return?.();
    else body[Symbol.iterator]().return?.();
  } catch {
    // already failing; nothing more to report
  }
}
