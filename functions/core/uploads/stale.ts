/**
 * Sessions whose hasher never finished. S3 invokes the hasher asynchronously:
 * Lambda keeps an event for at most 6 hours (the stack's maxEventAge), runs it
 * for at most 15 minutes, then gives up to the failure queue. A session still
 * `hashing` after that will not move on by itself, and its object would stay
 * in S3 with nothing referring to it; the sweeper ends it here.
 */
import { HASHING_UPLOADS_PARTITION } from '../db/schema.js';
import { partitionItems } from '../db/partition.js';
import { abortMultipart, deleteObject } from '../files/storage.js';
import { sortableMs, type UploadItem } from './model.js';
import { transition } from './repository.js';

/** maxEventAge (6 h) + one run (15 min) + margin. */
export const STALE_HASHING_MS = 7 * 3600 * 1000;

export const STALE_REASON =
  'the hasher did not finish this upload (its S3 event is in the failure queue, or was lost); upload again';

export async function failStaleHashing(now = Date.now()): Promise<{ failed: string[] }> {
  const cutoff = sortableMs(now - STALE_HASHING_MS);
  const failed: string[] = [];
  for await (const item of partitionItems(HASHING_UPLOADS_PARTITION, cutoff)) {
    const session = item as unknown as UploadItem;
    // Only the caller that moves the state removes the bytes: a hasher finishing now wins.
    if (!(await transition(session.upload_id, 'hashing', 'failed', { reason: STALE_REASON }))) continue;
    await deleteObject(session.key);
    // A completion that timed out may have left the multipart upload open.
    await abortMultipart(session.key, session.s3_upload_id);
    failed.push(session.upload_id);
  }
  return { failed };
}
