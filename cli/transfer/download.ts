/**
 * `imgctl download`: parallel ranged GETs of the presigned content URL into
 * the target file at their offsets. A `<FILE>.part` sidecar lists the ranges
 * already written (saved after each range), so running the command again
 * fetches only what is missing. The file is hashed in order as its prefix
 * completes and the sha1 compared with the service's chksum; on a mismatch
 * the file is kept and the command exits 3. A verified file gets the
 * content's mtime, as `curl -R` and `rsync -t` do.
 */
import { open, stat, utimes, type FileHandle } from 'node:fs/promises';
import type { Api } from '../api.js';
import { killAfter, setInterruptHint, type Output } from '../context.js';
import { Failure, UsageError, VerificationFailed } from '../errors.js';
import { bytes, duration, rate } from '../format.js';
import { Progress } from '../progress.js';
import { contentEntries, type DownloadLink } from '../types.js';
import { PrefixHasher } from './hash.js';
import { getRangeInto, isExpiredUrl } from './http.js';
import { RateLimit } from './rate-limit.js';
import { pool, withRetry } from './retry.js';
import {
  addRange,
  coveredBytes,
  loadDownloadRecord,
  missingChunks,
  prefixEnd,
  removeDownloadRecord,
  saveDownloadRecord,
  sidecarOf,
  type DownloadRecord,
} from './state.js';

export interface DownloadOptions {
  concurrency: number;
  chunkSize: number;
  retries: number;
  force: boolean;
  /** Bytes per second for all ranges together (--limit-rate). */
  limitRate?: number;
}

export interface DownloadResult {
  image: string;
  file: string;
  size: number;
  chksum: string;
  resumed_bytes: number;
  seconds: number;
  /** Fetching the ranges, in this run. */
  transfer_seconds: number;
  /** The content's mtime (epoch seconds), given to the file; absent if the content changed meanwhile. */
  mtime?: number;
}

/**
 * The file name a download gets by default: `<name>.<fmt>` (rocky9.cwsquash),
 * the name the service's presigned URL gives in its Content-Disposition, so
 * `curl -LOJ` and imgctl agree.
 */
export async function defaultTarget(api: Api, id: string): Promise<{ uid: string; file: string }> {
  const image = await api.getImage(id);
  const fmt = contentEntries(image)[0]?.[0];
  return { uid: image.uid, file: fmt === undefined ? image.name : `${image.name}.${fmt}` };
}

export async function download(api: Api, out: Output, uid: string, target: string, options: DownloadOptions): Promise<DownloadResult> {
  const started = performance.now();
  if (target === '') throw new UsageError('give a file name to download into');
  const existing = await stat(target).catch(() => undefined);
  if (existing?.isDirectory()) {
    throw new UsageError(`${target} is a directory; give a file path, e.g. ${target.replace(/\/+$/, '')}/image.img`);
  }
  const targetExists = existing !== undefined;
  let link = await api.downloadLink(uid);

  let record = await loadDownloadRecord(target);
  // A sidecar marks the file as imgctl's own partial download: it may be started over without --force.
  const ours = record !== undefined && targetExists;
  if (record && (record.chksum !== link.chksum || record.size !== link.size || !targetExists)) {
    out.note(
      targetExists
        ? `the image's content changed since the partial download of ${target}; starting over`
        : `${sidecarOf(target)} has no ${target} next to it; starting over`,
    );
    record = undefined;
  }
  if (!record && targetExists && !ours && !options.force) {
    throw new Failure(`${target} exists; pass --force to overwrite it, or choose another file name`);
  }
  const resumed = record ? coveredBytes(record.done) : 0;
  if (record && resumed > 0) out.note(`resuming ${target}: ${bytes(resumed)} of ${bytes(link.size)} already there`);
  let state: DownloadRecord = record ?? { version: 1, image: uid, chksum: link.chksum, size: link.size, done: [] };

  let fh: FileHandle;
  try {
    fh = await open(target, record ? 'r+' : 'w');
    await fh.truncate(link.size);
  } catch (error) {
    throw new Failure(`cannot write ${target}: ${(error as Error).message}`);
  }
  // Saves run one after another; the last one wins.
  let saving: Promise<void> = saveDownloadRecord(target, state);
  const save = () => {
    const snapshot = { ...state, done: state.done.map((r) => [...r] as [number, number]) };
    saving = saving.then(() => saveDownloadRecord(target, snapshot));
    return saving;
  };
  await saving;
  setInterruptHint(`${target} is partly written; run the same command again to resume`);

  let renewing: Promise<void> | undefined;
  const renew = (): Promise<void> =>
    (renewing ??= api
      .downloadLink(uid)
      .then((fresh: DownloadLink) => {
        if (fresh.chksum !== link.chksum) throw new Failure(`the image's content changed during the download; run it again`);
        link = fresh;
        out.debug('renewed the download URL');
      })
      .finally(() => {
        renewing = undefined;
      }));

  // The hashing thread keeps the process alive: it is ended on every way out.
  const hasher = new PrefixHasher(target);
  let sha1: string;
  let transferSeconds: number;
  const limit = options.limitRate !== undefined ? new RateLimit(options.limitRate) : undefined;
  try {
    hasher.advance(prefixEnd(state.done));
    const bar = new Progress(link.size, 'download ', { enabled: out.progress });
    bar.skip(resumed);
    const onKill = killAfter('IMGCTL_TEST_KILL_AFTER_CHUNKS');
    const chunks = missingChunks(state.done, link.size, options.chunkSize);
    let fetched = 0;
    try {
      await pool(chunks, options.concurrency, async ([start, end]) => {
        if (Date.now() / 1000 > link.expires - 30) await renew();
        await withRetry(() => getRangeInto(link.url, start, end, fh, (n) => bar.add(n), limit), {
          retries: options.retries,
          what: `bytes ${start}-${end}`,
          log: (line) => out.debug(line),
          beforeRetry: async (error) => {
            if (isExpiredUrl(error)) await renew();
          },
        });
        state = { ...state, done: addRange(state.done, start, end) };
        hasher.advance(prefixEnd(state.done));
        out.debug(`range ${start}-${end} written (${bytes(end - start + 1)})`);
        await save();
        onKill(++fetched);
      });
    } catch (error) {
      bar.stop();
      await fh.close();
      await saving.catch(() => undefined);
      throw error;
    }
    bar.stop();
    transferSeconds = bar.elapsedSeconds();
    await fh.close();
    await saving;
    out.note(
      `downloaded ${bytes(link.size - resumed)} in ${duration(bar.elapsedSeconds())}, ${rate(bar.averageRate())}; checking the sha1...`,
    );
    sha1 = `sha1:${await hasher.finish(link.size)}`;
  } finally {
    await hasher.close();
  }
  await removeDownloadRecord(target);
  if (sha1 !== link.chksum) {
    throw new VerificationFailed(
      `${target} does not match the image: it hashes to ${sha1}, the service says ${link.chksum}. ` +
        `The file is kept as it is; remove it and download again.`,
    );
  }
  const mtime = await keepMtime(api, out, uid, target, link.chksum);
  return {
    image: uid,
    file: target,
    size: link.size,
    chksum: link.chksum,
    resumed_bytes: resumed,
    seconds: (performance.now() - started) / 1000,
    transfer_seconds: transferSeconds,
    ...(mtime !== undefined ? { mtime } : {}),
  };
}

/** Gives the file the content's mtime, read with its chksum so that it is this content's. */
async function keepMtime(api: Api, out: Output, uid: string, target: string, chksum: string): Promise<number | undefined> {
  const info = await api.info(uid);
  if (info.chksum !== chksum) {
    out.note(`the image's content changed after the download; ${target} keeps the time it was written`);
    return undefined;
  }
  const mtime = new Date(info.mtime * 1000);
  await utimes(target, new Date(), mtime);
  return info.mtime;
}
