/**
 * What the hasher does with a completed upload: hash the object, check it,
 * and switch the image's content to it in one transaction. Safe to run twice
 * for one object and in any order across objects: the session's state moves
 * from `hashing` exactly once, and an upload that completed earlier never
 * replaces content that a later one (or a removal) put in place.
 */
import type { Logger } from '@aws-lambda-powertools/logger';
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { HeadObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { config } from '../config.js';
import { metrics } from '../metrics.js';
import { METRIC } from '../metric-names.js';
import { nowSeconds } from '../ids.js';
import { keys } from '../db/schema.js';
import { retryWhileStale, Stale } from '../db/optimistic.js';
import { ConditionFailed, failingWith, writeAll, type Write } from '../db/transact.js';
import { collectFile } from '../files/collect.js';
import type { FileItem } from '../files/model.js';
import { claimChecksum, findFileWithBytes, releaseFile, retainFile } from '../files/repository.js';
import { deleteObject } from '../files/storage.js';
import { HashDeadlineError, type HashResult, hashS3Object, isRetryableS3Error, nativeSha1, resumableSha1 } from '../hashing/index.js';
import type { ImageItem } from '../images/model.js';
import { getImageItem, putImageIfVersion } from '../images/repository.js';
import type { SquashfsFacts } from '../db/schema.js';
import { checkFormat, type FormatCheck } from './format.js';
import { completionOrder, type UploadItem } from './model.js';
import { claimHashing, getUpload, releaseLease, saveProgress, transition, transitionWrite } from './repository.js';

/**
 * `continued`: the run stopped at its deadline with its state saved and asked
 * for the next run. `busy`: another run holds the session's lease; this
 * (duplicate or late) event leaves the hashing to it.
 */
export type Outcome = 'ready' | 'failed' | 'duplicate' | 'unknown' | 'continued' | 'busy';

export interface FinishOptions {
  client: S3Client;
  /** Milliseconds left before the Lambda's timeout. */
  timeLeft: () => number;
  /** Names this run in the session's lease (the invocation's request id). */
  runId: string;
  /** Starts another hasher run for the session, asynchronously (the continuation past this run's deadline). */
  continueLater: (uploadId: string) => Promise<void>;
  log: Pick<Logger, 'info' | 'warn'>;
}

/** A lease outlives its run's deadline by this much: clocks of two containers may differ a little. */
export const LEASE_MARGIN_MS = 2_000;
/** Progress (and, when resumable, the state) is saved this often while hashing. */
export const CHECKPOINT_INTERVAL_MS = 5_000;

export async function finishUpload(uploadId: string, options: FinishOptions): Promise<Outcome> {
  const found = await getUpload(uploadId);
  if (!found) {
    options.log.warn('object under content/ with no upload session; left alone', { uploadId });
    return 'unknown';
  }
  if (found.state !== 'hashing') return finishedAlready(found);
  // One run at a time: a duplicate, late or re-driven event never hashes what another run is hashing.
  const session = await claimHashing(uploadId, options.runId, Date.now() + options.timeLeft() + LEASE_MARGIN_MS);
  if (!session) {
    const now = await getUpload(uploadId);
    if (now && now.state !== 'hashing') return finishedAlready(now);
    options.log.info('another hasher run holds this upload', { uploadId, holder: now?.lease_owner });
    return 'busy';
  }

  let result: { sha1: string; size: number; mtime: number };
  try {
    result = await hash(session, options);
  } catch (error) {
    if (error instanceof HashDeadlineError) return pause(session, error, options);
    if (error instanceof LeaseLost) return 'busy';
    // Maybe a duplicate event finished first and the object is gone: then there is nothing to do.
    const now = await getUpload(uploadId);
    if (now?.state !== 'hashing') return 'duplicate';
    // Let the retry (or the re-drive) start at once rather than after this run's lease.
    await releaseLease(uploadId, options.runId);
    throw error;
  }

  if (result.size !== session.size) {
    return fail(session, `the object has ${result.size} bytes but the upload declared ${session.size}`);
  }
  if (session.sha1 !== undefined && session.sha1 !== result.sha1) {
    return fail(
      session,
      `sha1 mismatch: the upload declared ${session.sha1} but the bytes in S3 hash to ${result.sha1}; the image keeps its previous content`,
    );
  }
  let format: FormatCheck;
  try {
    format = await checkFormat(session.fmt, session.key, result.size);
  } catch (error) {
    if ((await getUpload(uploadId))?.state !== 'hashing') return 'duplicate';
    await releaseLease(uploadId, options.runId);
    throw error;
  }
  if (!format.ok) return fail(session, format.reason);
  return switchContent(session, { ...result, ...(format.squashfs ? { squashfs: format.squashfs } : {}) }, options);
}

/** A repeated event (Lambda retries a failed run): finish the clean-up that run may not have done. */
async function finishedAlready(session: UploadItem): Promise<Outcome> {
  // Both are idempotent: a failed session's object is never referred to, and a released file
  // (refcnt 0) can't be referred to again.
  if (session.state === 'failed') await deleteObject(session.key);
  if (session.state === 'ready' && session.replaced_file !== undefined) await collectFile(session.replaced_file);
  // Its image shares an identical file instead, so nothing refers to this object.
  if (session.state === 'ready' && session.shared_file !== undefined) await deleteObject(session.key);
  return 'duplicate';
}

/**
 * The run reached its deadline: save where it got and hand over to the next
 * run. A native run cannot save its state; the next run starts over,
 * resumably. A run that got nowhere is an error, retried as any other.
 */
async function pause(session: UploadItem, error: HashDeadlineError, options: FinishOptions): Promise<Outcome> {
  const start = session.hash_offset ?? 0;
  const progress = error.checkpoint
    ? { offset: error.checkpoint.offset, state: error.checkpoint.state, release: true }
    : { offset: 0, resumable: true, release: true };
  if (error.checkpoint && error.checkpoint.offset <= start) {
    // Continuing is routine; a whole run without progress is not (S3 too slow for this memory size).
    metrics.addMetric(METRIC.hashDeadlineExceeded, MetricUnit.Count, 1);
    await releaseLease(session.upload_id, options.runId);
    throw new Error(`the hasher made no progress on upload ${session.upload_id} before its deadline (${error.message})`);
  }
  if (!(await saveProgress(session.upload_id, options.runId, progress))) return 'busy';
  options.log.info('hash paused; continuing in a new run', {
    uploadId: session.upload_id,
    offset: progress.offset,
    size: session.size,
    resumable: true,
  });
  await options.continueLater(session.upload_id);
  return 'continued';
}

/** The run's lease went to another run: it stops without a word more. */
class LeaseLost extends Error {
  override readonly name = 'LeaseLost';
}

/**
 * Whether a native hash of `bytes` fits this run: the native hash is the
 * faster one (by about a third on one core, hashing/sha1.ts) but must finish
 * within the run, so it is chosen only with half the time in hand at the
 * expected rate.
 */
export function nativeFits(bytes: number, timeLeftMs: number): boolean {
  return (bytes / config.hasherExpectedRate) * 1000 <= (timeLeftMs - minTimeLeft(timeLeftMs)) / 2;
}

/**
 * Time kept in hand at the deadline to save the outcome and start the next
 * run: 5 s, or half of a very short run (local tests give the hasher 2 s).
 */
const minTimeLeft = (timeLeftMs: number): number => Math.min(5_000, timeLeftMs / 2);

async function hash(session: UploadItem, options: FinishOptions) {
  const head = await options.client.send(new HeadObjectCommand({ Bucket: config.bucketName, Key: session.key }));
  if (head.ContentLength === undefined || head.LastModified === undefined) {
    throw new Error(`HeadObject ${session.key} gave no size or date`);
  }
  const offset = session.hash_state ? (session.hash_offset ?? 0) : 0;
  const timeLeftMs = options.timeLeft();
  const resumable =
    session.hash_state !== undefined || session.hash_resumable === true || !nativeFits(head.ContentLength - offset, timeLeftMs);
  const sha1 = resumable ? await resumableSha1(session.hash_state) : nativeSha1();

  // Progress goes to the session every few seconds; one write at a time, and a lost lease stops the hash.
  const controller = new AbortController();
  let saving: Promise<void> = Promise.resolve();
  const onCheckpoint = (progress: { offset: number; state: Uint8Array | undefined }) => {
    saving = saving.then(
      async () => {
        if (controller.signal.aborted) return;
        if (!(await saveProgress(session.upload_id, options.runId, progress))) controller.abort(new LeaseLost());
      },
      () => undefined,
    );
  };
  let out: HashResult;
  try {
    out = await hashS3Object({
      client: options.client,
      bucket: config.bucketName,
      key: session.key,
      size: head.ContentLength,
      ...(head.ETag !== undefined ? { etag: head.ETag } : {}),
      rangeSize: config.hasherRangeSize,
      concurrency: config.hasherConcurrency,
      isRetryable: isRetryableS3Error,
      deadline: options.timeLeft,
      minTimeLeftMs: minTimeLeft(timeLeftMs),
      deadlineCheckIntervalMs: Math.min(500, minTimeLeft(timeLeftMs) / 5),
      offset,
      sha1,
      onCheckpoint,
      // Several saves per run, so a run cut off at its deadline (or lost) leaves most of its work behind.
      checkpointIntervalMs: Math.min(CHECKPOINT_INTERVAL_MS, timeLeftMs / 4),
      signal: controller.signal,
    });
  } catch (error) {
    await saving;
    if (controller.signal.aborted) throw new LeaseLost();
    throw error;
  } finally {
    sha1.close();
    await saving.catch(() => undefined);
  }
  if (controller.signal.aborted) throw new LeaseLost();
  metrics.addMetric(METRIC.hashedBytes, MetricUnit.Bytes, out.stats.hashedBytes);
  metrics.addMetric(METRIC.hashTime, MetricUnit.Milliseconds, out.stats.elapsedMs);
  return { sha1: out.sha1, size: out.size, mtime: head.LastModified.getTime() / 1000 };
}

/** Ends the session as failed and deletes its object; only the caller that moved the state deletes. */
async function fail(session: UploadItem, reason: string): Promise<Outcome> {
  if (!(await transition(session.upload_id, 'hashing', 'failed', { reason }))) return 'duplicate';
  await deleteObject(session.key);
  return 'failed';
}

async function switchContent(
  session: UploadItem,
  result: { sha1: string; size: number; mtime: number; squashfs?: SquashfsFacts },
  options: FinishOptions,
): Promise<Outcome> {
  const order = completionOrder(session.completed_at ?? session.created_at * 1000, session.upload_id);
  const chksum = `sha1:${result.sha1}`;
  return retryWhileStale(async (): Promise<Outcome> => {
    const image = await getImageItem(session.image_uid);
    if (!image) return fail(session, 'the image was deleted before its upload was checked');
    // A concurrent copy of this event got here first and switched the content already.
    if (image.file_uid === session.upload_id) return 'duplicate';
    if (image.content_order !== undefined && image.content_order > order) {
      return fail(session, 'superseded: a later upload or removal changed this image first');
    }
    // Frozen blocks every change to the image's content, including one completed before the freeze.
    if (image.frozen) {
      return fail(session, `image "${image.name}" was frozen before its upload was checked; unfreeze it and upload again`);
    }
    const now = nowSeconds();
    // Identical bytes already stored (same sha1, size and format): share that file, as clones do.
    const found = await findFileWithBytes(result.sha1, result.size);
    const shared = found.file && found.file.fmt === session.fmt ? found.file : undefined;
    const file: FileItem = shared ?? {
      ...keys.file(session.upload_id),
      kind: 'file',
      uid: session.upload_id,
      key: session.key,
      fmt: session.fmt,
      size: result.size,
      mtime: result.mtime,
      chksum,
      refcnt: 1,
      state: 'live',
      last_modified: now,
      ...(result.squashfs ? { squashfs: result.squashfs } : {}),
    };
    const next: ImageItem = {
      ...image,
      file_uid: file.uid,
      content_order: order,
      content: {
        [file.fmt]: { size: file.size, mtime: file.mtime, chksum, filename: file.uid, uid: file.uid },
        last_modified: now,
        last_modified_by: session.started_by,
        last_modified_on: session.started_on,
      },
      version: image.version + 1,
    };
    // The image already refers to the shared file: its reference stays as it is.
    const replaced = image.file_uid !== undefined && image.file_uid !== file.uid ? image.file_uid : undefined;
    // The file exists or the session moved on: another copy of this event finished first.
    const duplicate = () => new Duplicate();
    const writes: Write[] = [
      putImageIfVersion(next, image.version),
      failingWith(
        transitionWrite(session.upload_id, 'hashing', 'ready', {
          ...(replaced !== undefined ? { replaced_file: replaced } : {}),
          ...(shared ? { shared_file: shared.uid } : {}),
        }),
        duplicate,
      ),
    ];
    if (shared) {
      // Fails if the file was released to 0 since it was read: read again, and store these bytes then.
      if (image.file_uid !== shared.uid) writes.push(failingWith(retainFile(shared.uid), () => new Stale()));
    } else {
      writes.push(failingWith({ Put: { Item: file, ConditionExpression: 'attribute_not_exists(pk)' } }, duplicate));
      // Another file with these bytes but another format keeps the index; this one is stored apart.
      if (!found.file) {
        // Lost to an identical upload that claimed the entry first: read again, and share its file.
        writes.push(failingWith(claimChecksum(result.sha1, result.size, file.uid, found.stale), () => new Stale()));
      }
    }
    if (replaced !== undefined) writes.push(releaseFile(replaced));
    try {
      await writeAll(writes);
    } catch (error) {
      if (error instanceof Duplicate) return 'duplicate';
      // The image changed (or its old file did) since it was read: read again.
      throw error instanceof ConditionFailed ? new Stale() : error;
    }
    if (shared) await deleteObject(session.key);
    if (replaced !== undefined) await collectFile(replaced);
    options.log.info('content switched', { image: image.uid, file: file.uid, previous: image.file_uid, shared: shared !== undefined });
    return 'ready';
  }, switchExhausted(session));
}

/** A write of the switch found that another run of this event made it already. */
class Duplicate extends Error {
  override readonly name = 'Duplicate';
}

/** Thrown out of the handler, so that Lambda retries the event later. */
const switchExhausted = (session: UploadItem) => () =>
  new Error(`image ${session.image_uid} kept changing while its content was switched; the event will be retried`);
