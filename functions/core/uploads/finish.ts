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
import { HashDeadlineError, hashS3Object, isRetryableS3Error } from '../hashing/index.js';
import type { ImageItem } from '../images/model.js';
import { getImageItem, putImageIfVersion } from '../images/repository.js';
import type { SquashfsFacts } from '../db/schema.js';
import { checkFormat, type FormatCheck } from './format.js';
import { completionOrder, type UploadItem } from './model.js';
import { getUpload, transition, transitionWrite } from './repository.js';

export type Outcome = 'ready' | 'failed' | 'duplicate' | 'unknown';

export interface FinishOptions {
  client: S3Client;
  /** Milliseconds left before the Lambda's timeout. */
  timeLeft: () => number;
  log: Pick<Logger, 'info' | 'warn'>;
}

export async function finishUpload(uploadId: string, options: FinishOptions): Promise<Outcome> {
  const session = await getUpload(uploadId);
  if (!session) {
    options.log.warn('object under content/ with no upload session; left alone', { uploadId });
    return 'unknown';
  }
  if (session.state !== 'hashing') {
    // A repeated event (Lambda retries a failed run): finish the clean-up that run may not have done.
    // Both are idempotent: a failed session's object is never referred to, and a released file
    // (refcnt 0) can't be referred to again.
    if (session.state === 'failed') await deleteObject(session.key);
    if (session.state === 'ready' && session.replaced_file !== undefined) await collectFile(session.replaced_file);
    // Its image shares an identical file instead, so nothing refers to this object.
    if (session.state === 'ready' && session.shared_file !== undefined) await deleteObject(session.key);
    return 'duplicate';
  }

  let result: { sha1: string; size: number; mtime: number };
  try {
    result = await hash(session, options);
  } catch (error) {
    if (error instanceof HashDeadlineError) {
      // The file is too big for one run at these settings: ours to fix, not the client's.
      metrics.addMetric(METRIC.hashDeadlineExceeded, MetricUnit.Count, 1);
      return fail(session, error.message);
    }
    // Maybe a duplicate event finished first and the object is gone: then there is nothing to do.
    const now = await getUpload(uploadId);
    if (now?.state !== 'hashing') return 'duplicate';
    throw error;
  }

  if (result.size !== session.size) {
    return fail(session, `the object has ${result.size} bytes but the upload declared ${session.size}`);
  }
  if (session.sha1 !== undefined && session.sha1 !== result.sha1) {
    return fail(session, `sha1 mismatch: the upload declared ${session.sha1} but the bytes in S3 hash to ${result.sha1}; the image keeps its previous content`);
  }
  let format: FormatCheck;
  try {
    format = await checkFormat(session.fmt, session.key, result.size);
  } catch (error) {
    if ((await getUpload(uploadId))?.state !== 'hashing') return 'duplicate';
    throw error;
  }
  if (!format.ok) return fail(session, format.reason);
  return switchContent(session, { ...result, ...(format.squashfs ? { squashfs: format.squashfs } : {}) }, options);
}

async function hash(session: UploadItem, options: FinishOptions) {
  const head = await options.client.send(new HeadObjectCommand({ Bucket: config.bucketName, Key: session.key }));
  if (head.ContentLength === undefined || head.LastModified === undefined) {
    throw new Error(`HeadObject ${session.key} gave no size or date`);
  }
  const out = await hashS3Object({
    client: options.client,
    bucket: config.bucketName,
    key: session.key,
    size: head.ContentLength,
    ...(head.ETag !== undefined ? { etag: head.ETag } : {}),
    rangeSize: config.hasherRangeSize,
    concurrency: config.hasherConcurrency,
    isRetryable: isRetryableS3Error,
    deadline: options.timeLeft,
  });
  metrics.addMetric(METRIC.hashedBytes, MetricUnit.Bytes, out.size);
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
