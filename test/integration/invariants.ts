/**
 * The content invariants of DESIGN.md, checked under the API: the table as
 * DynamoDB Local holds it and the bucket as the local S3 holds it.
 *
 * Other test files run against the same stack at the same time, and a
 * paginated Scan is no snapshot, so the checks are scoped to the images and
 * files a test names (its own, settled by the time it checks):
 * - every file in scope: `refcnt` equals the number of IMAGE items whose
 *   `file_uid` is it (counted over the whole table), and is never 0 for an
 *   item that is still there (a released file is collected);
 * - an object `content/<uid>` exists exactly for each file in scope whose item
 *   has refcnt > 0: no orphan objects, no references to missing objects;
 * - every image in scope that exists has its NAME guard, and its `content`
 *   entry names its file; no NAME guard points at an image in scope that is gone;
 * - no upload in scope is still `hashing` or has S3 parts left after it ended.
 */
import { ListObjectsV2Command, ListPartsCommand, NoSuchUpload } from '@aws-sdk/client-s3';
import { CONTENT_PREFIX, contentKey, PREFIX } from '../../functions/core/db/schema.js';
import { stack } from './api.js';
import { scanAll } from './table.js';
import { testS3 } from './upload-client.js';

export interface Scope {
  /** Image UIDs the test created (deleted ones included). */
  images?: readonly string[];
  /** File uids (= upload ids) the test created, whatever became of them. */
  files?: readonly string[];
}

interface ImageRow {
  uid: string;
  name: string;
  file_uid?: string;
  content?: Record<string, unknown>;
}
interface FileRow {
  uid: string;
  refcnt: number;
  state: string;
  fmt: string;
  key: string;
  chksum: string;
  size: number;
}
interface UploadRow {
  upload_id: string;
  state: string;
  key: string;
  s3_upload_id: string;
}

export interface Snapshot {
  images: Map<string, ImageRow>;
  names: Map<string, string>;
  files: Map<string, FileRow>;
  uploads: Map<string, UploadRow>;
  /** The checksum index: `<sha1>#<size>` to the file it names. */
  checksums: Map<string, string>;
  objects: Set<string>;
}

/** Keys of every object under `content/`. */
export async function listContentObjects(): Promise<Set<string>> {
  const keys = new Set<string>();
  let token: string | undefined;
  do {
    const out = await testS3().send(new ListObjectsV2Command({ Bucket: stack().bucket, Prefix: CONTENT_PREFIX, ContinuationToken: token }));
    for (const o of out.Contents ?? []) if (o.Key) keys.add(o.Key);
    token = out.IsTruncated ? out.NextContinuationToken : undefined;
  } while (token);
  return keys;
}

export async function snapshot(): Promise<Snapshot> {
  const [items, objects] = await Promise.all([scanAll(), listContentObjects()]);
  const snap: Snapshot = { images: new Map(), names: new Map(), files: new Map(), uploads: new Map(), checksums: new Map(), objects };
  for (const item of items) {
    // The prefix up to and including '#' names the kind (functions/core/db/schema.ts).
    const at = item.pk.indexOf('#') + 1;
    const [prefix, id] = [item.pk.slice(0, at), item.pk.slice(at)];
    if (prefix === PREFIX.image) snap.images.set(id, item as unknown as ImageRow);
    else if (prefix === PREFIX.name) snap.names.set(id, String(item['uid']));
    else if (prefix === PREFIX.file) snap.files.set(id, item as unknown as FileRow);
    else if (prefix === PREFIX.upload) snap.uploads.set(id, item as unknown as UploadRow);
    else if (prefix === PREFIX.chksum) snap.checksums.set(id, String(item['file_uid']));
  }
  return snap;
}

/** Does S3 still hold a multipart upload (parts) for this session? */
async function multipartExists(key: string, uploadId: string): Promise<boolean> {
  try {
    await testS3().send(new ListPartsCommand({ Bucket: stack().bucket, Key: key, UploadId: uploadId }));
    return true;
  } catch (error) {
    if (error instanceof NoSuchUpload) return false;
    throw error;
  }
}

/** Every violation of the invariants within `scope`; empty when they hold. */
export async function violations(scope: Scope): Promise<string[]> {
  const snap = await snapshot();
  const out: string[] = [];
  const scopeImages = new Set(scope.images ?? []);
  const scopeFiles = new Set(scope.files ?? []);
  for (const uid of scopeImages) {
    const image = snap.images.get(uid);
    if (image?.file_uid !== undefined) scopeFiles.add(image.file_uid);
  }

  const referrers = (fileUid: string): string[] => [...snap.images.values()].filter((i) => i.file_uid === fileUid).map((i) => i.uid);

  for (const uid of scopeFiles) {
    const file = snap.files.get(uid);
    const refs = referrers(uid);
    const hasObject = snap.objects.has(contentKey(uid));
    if (file) {
      if (file.refcnt !== refs.length) {
        out.push(`file ${uid}: refcnt ${file.refcnt} but ${refs.length} images refer to it (${refs.join(', ') || 'none'})`);
      }
      if (file.refcnt <= 0) out.push(`file ${uid}: refcnt ${file.refcnt} (${file.state}) but the item was not collected`);
      if (file.refcnt > 0 && file.state !== 'live') out.push(`file ${uid}: refcnt ${file.refcnt} but state ${file.state}`);
      if (file.refcnt > 0 && !hasObject) out.push(`file ${uid}: refcnt ${file.refcnt} but S3 has no content/${uid} (dangling)`);
      if (file.refcnt <= 0 && hasObject) out.push(`file ${uid}: refcnt ${file.refcnt} and content/${uid} still in S3`);
    } else {
      if (refs.length > 0) out.push(`file ${uid}: no FILE item, yet images ${refs.join(', ')} refer to it (dangling)`);
      if (hasObject) out.push(`file ${uid}: content/${uid} is in S3 with no FILE item (orphan)`);
    }
    // The checksum index names a file only under that file's own bytes.
    for (const [key, named] of snap.checksums) {
      if (named === uid && file && key !== `${file.chksum.replace(/^sha1:/, '')}#${file.size}`) {
        out.push(`file ${uid}: checksum index entry ${key} names it, but it holds ${file.chksum} of ${file.size} bytes`);
      }
    }
    const upload = snap.uploads.get(uid);
    if (upload) {
      if (upload.state === 'hashing') out.push(`upload ${uid}: still hashing (the test did not wait for it)`);
      if (upload.state !== 'uploading' && (await multipartExists(upload.key, upload.s3_upload_id))) {
        out.push(`upload ${uid}: ${upload.state}, yet S3 still holds its multipart upload`);
      }
      if (upload.state !== 'ready' && file) out.push(`upload ${uid}: ${upload.state}, yet a FILE item exists for it`);
    }
  }

  for (const uid of scopeImages) {
    const image = snap.images.get(uid);
    const guards = [...snap.names.entries()].filter(([, owner]) => owner === uid).map(([name]) => name);
    if (!image) {
      if (guards.length > 0) out.push(`image ${uid} is gone but NAME guards ${guards.join(', ')} still point at it`);
      continue;
    }
    if (snap.names.get(image.name) !== uid) {
      out.push(`image ${uid}: name guard ${image.name} points at ${snap.names.get(image.name) ?? 'nothing'}`);
    }
    if (guards.length !== 1) out.push(`image ${uid}: ${guards.length} NAME guards (${guards.join(', ')})`);
    const entries = Object.entries(image.content ?? {}).filter(
      (e): e is [string, { uid: string }] => typeof e[1] === 'object' && e[1] !== null && 'uid' in e[1],
    );
    if (image.file_uid === undefined) {
      if (entries.length > 0) out.push(`image ${uid}: no file_uid but content lists ${entries.map(([f]) => f).join(', ')}`);
    } else {
      const file = snap.files.get(image.file_uid);
      if (entries.length !== 1 || entries[0]?.[1].uid !== image.file_uid) {
        out.push(`image ${uid}: file_uid ${image.file_uid} but content is ${JSON.stringify(image.content)}`);
      } else if (file && entries[0][0] !== file.fmt) {
        out.push(`image ${uid}: content is under "${entries[0][0]}" but the file's fmt is "${file.fmt}"`);
      }
    }
  }
  return out;
}

/**
 * Throws with every violation listed. A released file is collected just after
 * the transaction that released it (S3 is not part of a DynamoDB transaction),
 * so the check is repeated for a bounded time until it holds: the invariants
 * must hold once the requests and events of the test have settled.
 */
export async function assertInvariants(scope: Scope, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (let delay = 25; ; delay = Math.min(delay * 2, 500)) {
    const found = await violations(scope);
    if (found.length === 0) return;
    if (Date.now() >= deadline) throw new Error(`invariants violated:\n  ${found.join('\n  ')}`);
    await new Promise((r) => setTimeout(r, delay));
  }
}
