/**
 * Upload sessions: start (S3 multipart upload + presigned part URLs), resume,
 * complete and abort. No content byte passes through here: clients PUT parts
 * straight to S3, and the hasher switches the image's content once the bytes
 * are checked (see finish.ts).
 */
import { S3ServiceException } from '@aws-sdk/client-s3';
import { config } from '../config.js';
import { conflict, invalid, notFound, ServiceError } from '../errors.js';
import { isUid, newUid, nowSeconds } from '../ids.js';
import { keys } from '../db/schema.js';
import { contentKey, DEFAULT_FMT } from '../files/model.js';
import * as storage from '../files/storage.js';
import type { StoredPart } from '../files/storage.js';
import type { Actor, ImageItem } from '../images/model.js';
import { checkVersion, frozenError, getImage, type WriteOptions } from '../images/service.js';
import {
  MAX_OBJECT_SIZE,
  MAX_PART_SIZE,
  MAX_PARTS,
  MIN_PART_SIZE,
  partCount,
  quietLimitMs,
  URL_BYTES_PER_CALL,
  URLS_PER_CALL,
  type UploadItem,
} from './model.js';
import * as repo from './repository.js';

export interface StartRequest {
  size: number;
  sha1?: string;
  part_size?: number;
  fmt?: string;
}

export interface PartUrl {
  part_number: number;
  url: string;
}

/** What a client sees of a session. */
export interface SessionView {
  upload_id: string;
  image: string;
  state: UploadItem['state'] | 'expired';
  reason?: string;
  size: number;
  part_size: number;
  part_count: number;
  fmt: string;
  sha1: string | null;
  /** Parts S3 already holds (resume: don't send these again). */
  parts_done?: StoredPart[];
  /** Presigned URLs for parts still missing, at most URLS_PER_CALL. */
  parts?: PartUrl[];
  /** When the URLs stop working, epoch seconds. */
  expires?: number;
  /** When the session itself ends, epoch seconds. */
  session_expires: number;
  /** While hashing: bytes of `size` the service has hashed so far. */
  hashed?: number;
  /**
   * While hashing: nothing has moved for longer than one hasher run plus a
   * margin. The sweeper drives it again on its own (`redrives` so far, at most
   * `max_redrives`), then fails it.
   */
  stale?: boolean;
  redrives?: number;
  max_redrives?: number;
}

export function choosePartSize(size: number, requested: number | undefined): number {
  const floor = Math.max(MIN_PART_SIZE, Math.ceil(size / MAX_PARTS));
  if (requested !== undefined) {
    if (requested < floor) {
      throw invalid(`part_size ${requested} is too small: it must be at least ${floor} bytes (5 MiB, and size / ${MAX_PARTS} parts)`);
    }
    if (requested > MAX_PART_SIZE) throw invalid(`part_size must be at most ${MAX_PART_SIZE} bytes (5 GiB)`);
    return requested;
  }
  return Math.min(MAX_PART_SIZE, Math.max(config.defaultPartSize, floor));
}

function assertWritable(image: ImageItem): void {
  if (image.frozen) throw frozenError(image);
}

export async function startUpload(imageId: string, request: StartRequest, actor: Actor, options: WriteOptions = {}): Promise<SessionView> {
  const image = await getImage(imageId);
  checkVersion(image, options);
  assertWritable(image);
  if (request.size > MAX_OBJECT_SIZE) throw new ServiceError('too_large', `size is over S3's limit of ${MAX_OBJECT_SIZE} bytes (5 TiB)`);
  const partSize = choosePartSize(request.size, request.part_size);
  const id = newUid();
  const key = contentKey(id);
  const s3UploadId = await storage.createMultipart(key);
  const now = nowSeconds();
  const item: UploadItem = {
    ...keys.upload(id),
    kind: 'upload',
    upload_id: id,
    image_uid: image.uid,
    key,
    s3_upload_id: s3UploadId,
    size: request.size,
    part_size: partSize,
    part_count: partCount(request.size, partSize),
    ...(request.sha1 !== undefined ? { sha1: request.sha1 } : {}),
    fmt: request.fmt ?? DEFAULT_FMT,
    state: 'uploading',
    started_by: actor.user,
    started_on: actor.site,
    created_at: now,
    expires_at: Math.ceil(now + config.uploadSessionTtlSeconds),
  };
  try {
    await repo.putUpload(item);
  } catch (error) {
    await storage.abortMultipart(key, s3UploadId);
    throw error;
  }
  return view(item, [], await urlsFor(item, []));
}

async function sessionOf(imageId: string, uploadId: string): Promise<{ image: ImageItem; session: UploadItem }> {
  const image = await getImage(imageId);
  // Upload ids are UIDs; anything else names no session and is not worth a read.
  const session = isUid(uploadId) ? await repo.getUpload(uploadId) : undefined;
  if (!session || session.image_uid !== image.uid) {
    throw notFound(`no upload "${uploadId}" for image "${image.name}"`);
  }
  return { image, session };
}

const expired = (session: UploadItem): boolean => session.state === 'uploading' && session.expires_at <= nowSeconds();

/** The session's state; while uploading, what S3 holds and fresh URLs for the rest. */
export async function describeUpload(imageId: string, uploadId: string): Promise<SessionView> {
  const { session } = await sessionOf(imageId, uploadId);
  if (session.state !== 'uploading' || expired(session)) return view(session);
  const done = (await storage.listParts(session.key, session.s3_upload_id)) ?? [];
  return view(session, done, await urlsFor(session, done));
}

export async function completeUpload(
  imageId: string,
  uploadId: string,
  parts: { part_number: number; etag: string }[],
  sha1?: string,
): Promise<SessionView> {
  const { image, session } = await sessionOf(imageId, uploadId);
  assertWritable(image);
  if (expired(session)) {
    throw conflict(`upload "${uploadId}" expired at ${new Date(session.expires_at * 1000).toISOString()}; start a new one`);
  }
  if (session.state !== 'uploading') throw conflict(`upload "${uploadId}" is ${session.state}, not uploading; it cannot be completed`);

  if (sha1 !== undefined && session.sha1 !== undefined && sha1 !== session.sha1) {
    throw invalid(`sha1 ${sha1} differs from the ${session.sha1} this upload declared when it started`);
  }
  const expected = sha1 ?? session.sha1;
  const listed = checkPartList(parts, session.part_count);
  const stored = await storage.listParts(session.key, session.s3_upload_id);
  if (!stored) throw conflict(`S3 no longer has upload "${uploadId}" (aborted or expired); start a new one`);
  verifyAgainstStored(listed, stored, session.size);

  // Claim the completion first: of two concurrent completes only one proceeds.
  // Completing re-arms the session's TTL: it must outlive its hashing (and the sweeper's watch on it).
  const claim = {
    completed_at: Date.now(),
    expires_at: Math.ceil(nowSeconds() + config.uploadSessionTtlSeconds),
    ...(expected !== undefined ? { sha1: expected } : {}),
  };
  if (!(await repo.transition(session.upload_id, 'uploading', 'hashing', claim))) {
    throw conflict(`upload "${uploadId}" is being completed or was aborted by another request`);
  }
  try {
    await storage.completeMultipart(session.key, session.s3_upload_id, listed);
  } catch (error) {
    const refused = error instanceof S3ServiceException && (error.$metadata.httpStatusCode ?? 500) < 500;
    // A 5xx or a lost answer may hide a completion that happened: if S3 no longer
    // knows the multipart upload, it completed, and the hasher's event will follow.
    if (!refused && (await storage.listParts(session.key, session.s3_upload_id).catch(() => [])) === undefined) {
      return view({ ...session, ...claim, state: 'hashing' });
    }
    // Back to uploading as it was: a sha1 first given with this completion goes too.
    const undo = session.sha1 === undefined ? (['completed_at', 'sha1'] as const) : (['completed_at'] as const);
    await repo.transition(session.upload_id, 'hashing', 'uploading', {}, [...undo]);
    if (refused) throw invalid(`S3 refused to complete the upload: ${error.name}: ${error.message}`);
    throw error;
  }
  return view({ ...session, ...claim, state: 'hashing' });
}

/** Exactly parts 1..count, each once, in order. */
function checkPartList(parts: { part_number: number; etag: string }[], count: number) {
  const sorted = [...parts].sort((a, b) => a.part_number - b.part_number);
  for (const [i, p] of sorted.entries()) {
    if (p.part_number !== i + 1) {
      const seen = new Set(sorted.map((x) => x.part_number));
      const missing = Array.from({ length: count }, (_, k) => k + 1).find((n) => !seen.has(n));
      if (sorted[i - 1]?.part_number === p.part_number) throw invalid(`part ${p.part_number} is listed twice`);
      if (p.part_number > count) throw invalid(`part ${p.part_number} is beyond this upload's ${count} parts`);
      throw invalid(`part ${missing ?? i + 1} is missing from the list`);
    }
  }
  if (sorted.length !== count) {
    throw sorted.length > count
      ? invalid(`this upload has ${count} parts; ${sorted.length} were listed`)
      : invalid(`part ${sorted.length + 1} is missing from the list (this upload has ${count} parts)`);
  }
  return sorted;
}

const bareEtag = (etag: string): string => etag.trim().replace(/^W\//, '').replace(/^"|"$/g, '');

function verifyAgainstStored(listed: { part_number: number; etag: string }[], stored: StoredPart[], declared: number) {
  const byNumber = new Map(stored.map((p) => [p.part_number, p]));
  let total = 0;
  for (const p of listed) {
    const s = byNumber.get(p.part_number);
    if (!s) throw invalid(`part ${p.part_number} was never uploaded; PUT it to its URL first`);
    if (bareEtag(s.etag) !== bareEtag(p.etag)) {
      throw invalid(`part ${p.part_number}: ETag ${p.etag} does not match the part S3 holds (${s.etag}); upload it again`);
    }
    total += s.size;
  }
  if (total !== declared) {
    throw invalid(`the parts add up to ${total} bytes but the upload declared size ${declared}`);
  }
}

export async function abortUpload(imageId: string, uploadId: string): Promise<SessionView> {
  const { image, session } = await sessionOf(imageId, uploadId);
  assertWritable(image);
  if (!(await repo.transition(session.upload_id, 'uploading', 'aborted', { reason: 'aborted by the client' }))) {
    const now = await repo.getUpload(uploadId);
    throw conflict(`upload "${uploadId}" is ${now?.state ?? 'gone'}; only an upload in progress can be aborted`);
  }
  await storage.abortMultipart(session.key, session.s3_upload_id);
  return view({ ...session, state: 'aborted', reason: 'aborted by the client' });
}

/**
 * Fresh URLs for the first missing parts: at most URLS_PER_CALL, and no more
 * than URL_BYTES_PER_CALL of them, so the answer stays within Lambda's 6 MB
 * whatever the credentials' session token adds to each URL. The client asks
 * for the rest with GET .../upload/{upload_id} as it goes.
 */
async function urlsFor(session: UploadItem, done: StoredPart[]): Promise<PartUrls> {
  const have = new Set(done.filter((p) => p.size === expectedPartSize(session, p.part_number)).map((p) => p.part_number));
  const missing: number[] = [];
  for (let n = 1; n <= session.part_count && missing.length < URLS_PER_CALL; n++) if (!have.has(n)) missing.push(n);
  // One lifetime for every URL of the answer, so its `expires` is true of each.
  const lifetime = await storage.urlLifetime();
  const presign = async (n: number): Promise<PartUrl> => ({
    part_number: n,
    url: await storage.presignPart(session.key, session.s3_upload_id, n, lifetime),
  });
  const [first, ...rest] = missing;
  if (first === undefined) return { parts: [], expires: lifetime.expires };
  // URLs of one session differ only in the part number: the first one's length bounds them all (+ 5 digits, + JSON).
  const head = await presign(first);
  const fits = Math.max(1, Math.floor(URL_BYTES_PER_CALL / (Buffer.byteLength(head.url) + 64)));
  return { parts: [head, ...(await Promise.all(rest.slice(0, fits - 1).map(presign)))], expires: lifetime.expires };
}

interface PartUrls {
  parts: PartUrl[];
  expires: number;
}

/** Every part is part_size long but the last, which holds the rest. */
export function expectedPartSize(session: Pick<UploadItem, 'size' | 'part_size' | 'part_count'>, n: number): number {
  return n < session.part_count ? session.part_size : session.size - session.part_size * (session.part_count - 1);
}

function view(session: UploadItem, done?: StoredPart[], urls?: PartUrls): SessionView {
  return {
    upload_id: session.upload_id,
    image: session.image_uid,
    state: expired(session) ? 'expired' : session.state,
    ...(session.reason !== undefined ? { reason: session.reason } : {}),
    size: session.size,
    part_size: session.part_size,
    part_count: session.part_count,
    fmt: session.fmt,
    sha1: session.sha1 ?? null,
    ...(done ? { parts_done: done } : {}),
    ...(urls ? { parts: urls.parts, expires: urls.expires } : {}),
    session_expires: session.expires_at,
    ...(session.state === 'hashing' ? hashingView(session) : {}),
  };
}

function hashingView(session: UploadItem & { gsi1sk?: string }) {
  const activeMs = session.gsi1sk !== undefined ? Number(session.gsi1sk) : undefined;
  return {
    hashed: session.hash_offset ?? 0,
    stale: activeMs !== undefined && Date.now() - activeMs > quietLimitMs(),
    redrives: session.redrives ?? 0,
    max_redrives: config.maxRedrives,
  };
}
