/**
 * The re-drive: upload sessions still `hashing` with nothing heard from them
 * for one hasher run plus a margin. Their event was lost (a crash, a
 * dependency down through every retry, an event in the failure queue), or
 * the content function died between claiming the completion and completing
 * the multipart upload. Each is driven again from where its saved state says
 * (continuation.ts), or, when its object is missing, completed from the
 * parts S3 holds or failed with the reason; and failed after several
 * re-drives that changed nothing (DESIGN.md, "Content lifecycle" point 5).
 */
import { config } from '../config.js';
import { HASHING_UPLOADS_PARTITION } from '../db/schema.js';
import { partitionItems } from '../db/partition.js';
import { abortMultipart, completeMultipart, deleteObject, listParts, objectExists } from '../files/storage.js';
import { invokeHasher } from './continuation.js';
import { quietLimitMs, sortableMs, type UploadItem } from './model.js';
import { markRedriven, transition } from './repository.js';

export interface Redrive {
  /** Sessions whose hasher was invoked again. */
  redriven: string[];
  /** Sessions whose multipart upload was completed here (their S3 event drives the hasher). */
  completed: string[];
  /** Sessions failed, with why. */
  failed: { upload_id: string; reason: string }[];
}

export async function redriveStaleHashing(now = Date.now()): Promise<Redrive> {
  const result: Redrive = { redriven: [], completed: [], failed: [] };
  const cutoff = sortableMs(now - quietLimitMs());
  for await (const item of partitionItems(HASHING_UPLOADS_PARTITION, cutoff)) {
    const session = item as unknown as UploadItem & { gsi1sk?: string };
    const tries = session.redrives ?? 0;
    if (tries >= config.maxRedrives) {
      const reason = `the hasher did not finish this upload after ${tries} re-drives; upload again`;
      if (await fail(session, reason)) result.failed.push({ upload_id: session.upload_id, reason });
      continue;
    }
    if (await objectExists(session.key)) {
      // Counted first: of two sweeps that see the same silence, one re-drives.
      if (!(await markRedriven(session, now))) continue;
      await invokeHasher(config.hasherFunctionName, session.upload_id);
      result.redriven.push(session.upload_id);
      continue;
    }
    const parts = await listParts(session.key, session.s3_upload_id);
    const complete =
      parts !== undefined &&
      parts.length === session.part_count &&
      parts.every((p, i) => p.part_number === i + 1) &&
      parts.reduce((sum, p) => sum + p.size, 0) === session.size;
    if (parts && complete) {
      // The completion was claimed and its parts checked, then never finished: finish it.
      if (!(await markRedriven(session, now))) continue;
      await completeMultipart(session.key, session.s3_upload_id, parts);
      result.completed.push(session.upload_id);
      continue;
    }
    const reason = parts
      ? 'the upload was never completed in S3 and its parts there are incomplete; upload again'
      : 'the uploaded object is missing from S3; upload again';
    if (await fail(session, reason)) result.failed.push({ upload_id: session.upload_id, reason });
  }
  return result;
}

/** Only the caller that moves the state removes the bytes: a hasher finishing now wins. */
async function fail(session: UploadItem, reason: string): Promise<boolean> {
  if (!(await transition(session.upload_id, 'hashing', 'failed', { reason }))) return false;
  await deleteObject(session.key);
  // A completion that timed out may have left the multipart upload open.
  await abortMultipart(session.key, session.s3_upload_id);
  return true;
}
