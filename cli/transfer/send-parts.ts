/**
 * The transfer of an upload session's parts, reading the file once: the file
 * is read in order, a part at a time, every byte fed into one sha1 (the
 * checksum sent with the completion), and each part is PUT from its buffer
 * while the next ones are read. Parts S3 already holds (a resumed upload)
 * are read and hashed like the others, but not sent.
 *
 * Memory: at most `concurrency` parts are being sent, and the reader fills at
 * most one more buffer while it waits for a free slot; buffers are reused.
 * So an upload holds at most (concurrency + 1) × part_size bytes of part
 * buffers: 5 × 64 MiB = 320 MiB with the defaults.
 */
import { open } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { killAfter, partDelayMs, type Output } from '../context.js';
import { bytes, duration, rate } from '../format.js';
import { Progress } from '../progress.js';
import type { UploadSession } from '../types.js';
import { isExpiredUrl, putBuffer } from './http.js';
import { PartBuffers, SequentialHasher } from './part-reader.js';
import { PartUrls } from './part-urls.js';
import { RateLimit } from './rate-limit.js';
import { Slots, withRetry } from './retry.js';

export interface SendOptions {
  concurrency: number;
  retries: number;
  /** Bytes per second for all parts together (--limit-rate). */
  limitRate?: number;
}

export interface SentParts {
  /** Every part, in order, with S3's ETag: what the completion lists. */
  parts: { part_number: number; etag: string }[];
  /** sha1 (hex) of the whole file, from the same read that filled the parts. */
  sha1: string;
  /** Parts sent in this run. */
  sent: number;
  /** Parts S3 already held (read and hashed, not sent). */
  resumed: number;
  /** From the first part read to the last part sent. */
  seconds: number;
}

export const expectedSize = (s: UploadSession, n: number): number =>
  n < s.part_count ? s.part_size : s.size - s.part_size * (s.part_count - 1);

export async function sendParts(
  /** The session again, with fresh URLs for its missing parts. */
  describe: () => Promise<UploadSession>,
  out: Output,
  path: string,
  session: UploadSession,
  options: SendOptions,
): Promise<SentParts> {
  // A stored part of another size is from a different part layout: send it again.
  const etags = new Map<number, string>();
  for (const p of session.parts_done ?? []) if (p.size === expectedSize(session, p.part_number)) etags.set(p.part_number, p.etag);
  const held = new Set(etags.keys());
  const heldBytes = [...held].reduce((sum, n) => sum + expectedSize(session, n), 0);

  const urls = new PartUrls(session, describe, (line) => out.debug(line));
  const bar = new Progress(session.size, 'upload   ', { enabled: out.progress, moved: 'sent' });
  if (held.size > 0) bar.skip(heldBytes, `in S3 already (${held.size} parts)`);
  const buffers = new PartBuffers(Math.min(session.part_size, session.size));
  const slots = new Slots(options.concurrency);
  const onKill = killAfter('IMGCTL_TEST_KILL_AFTER_PARTS');
  const delayMs = partDelayMs();
  const limit = options.limitRate !== undefined ? new RateLimit(options.limitRate) : undefined;
  let sent = 0;
  let failed: { error: unknown } | undefined;
  const inFlight = new Set<Promise<void>>();

  const sendOne = async (n: number, data: Buffer): Promise<void> => {
    const t = performance.now();
    const etag = await withRetry(
      async (attempt) => {
        const url = await urls.urlFor(n);
        if (attempt === 0 && delayMs > 0) await sleep(delayMs);
        return putBuffer(url, data, (b) => bar.add(b), limit);
      },
      {
        retries: options.retries,
        what: `part ${n}`,
        log: (line) => out.debug(line),
        beforeRetry: async (error) => {
          if (isExpiredUrl(error)) await urls.refused(n);
        },
      },
    );
    etags.set(n, etag);
    sent++;
    out.debug(`part ${n}/${session.part_count} sent (${bytes(data.length)}, ${Math.round(performance.now() - t)} ms)`);
    onKill(sent);
  };

  const file = await open(path, 'r');
  const reader = new SequentialHasher(file);
  try {
    for (let n = 1; n <= session.part_count && !failed; n++) {
      const buffer = buffers.take();
      const data = buffer.subarray(0, expectedSize(session, n));
      try {
        await reader.readNext(data);
      } catch (error) {
        buffers.give(buffer);
        throw error;
      }
      if (held.has(n)) {
        buffers.give(buffer);
        continue;
      }
      await slots.acquire();
      if (failed) {
        slots.release();
        buffers.give(buffer);
        break;
      }
      // The buffer goes back before the slot, so the reader, woken by the
      // slot, finds it free: that is what keeps the count at concurrency + 1.
      const job: Promise<void> = sendOne(n, data)
        .catch((error: unknown) => {
          failed ??= { error };
        })
        .finally(() => {
          buffers.give(buffer);
          slots.release();
          inFlight.delete(job);
        });
      inFlight.add(job);
    }
  } finally {
    // Parts on their way finish (or fail) first: what S3 took counts for a resume.
    await Promise.allSettled([...inFlight]);
    await file.close();
    bar.stop();
  }
  if (failed) throw failed.error;

  const sha1 = reader.digest(session.size);
  out.debug(
    `sha1 ${sha1}; ${buffers.allocated} part buffers of ${bytes(buffers.bufferSize)} used (at most concurrency + 1 = ${options.concurrency + 1})`,
  );
  const sentBytes = session.size - heldBytes;
  out.note(
    `sent ${bytes(sentBytes)} in ${sent} parts${held.size ? ` (${held.size} of ${session.part_count} parts were already in S3, read only to hash them)` : ''} in ${duration(bar.elapsedSeconds())}, ${rate(bar.averageRate())}`,
  );
  const parts = [...etags].sort((a, b) => a[0] - b[0]).map(([part_number, etag]) => ({ part_number, etag }));
  return { parts, sha1, sent, resumed: held.size, seconds: bar.elapsedSeconds() };
}
