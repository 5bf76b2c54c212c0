/**
 * The content half of the test client: starts upload sessions, PUTs part bytes
 * straight to their presigned URLs with plain `fetch` (no SDK, as a node or
 * curl would), completes, and polls the session until the hasher is done.
 * Also direct SDK clients on the stack's DynamoDB Local and S3, for checks
 * that look under the API.
 */
import { createHash, randomBytes } from 'node:crypto';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { HeadObjectCommand, NotFound, S3Client } from '@aws-sdk/client-s3';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { call, createImage, stack, type ApiResponse, type CallOptions } from './api.js';

export const MIB = 1024 * 1024;
/** S3's minimum part size; keeps the test files small. */
export const PART = 5 * MIB;

// The wire types are the service's own: a test that disagrees with them fails to compile.
import type { StoredPart } from '../../functions/core/files/storage.js';
import type { PartUrl, SessionView, StartRequest } from '../../functions/core/uploads/service.js';
import type { contentInfo as contentInfoSchema } from '../../functions/api/responses.js';
import type { z } from 'zod';

export type { PartUrl, StoredPart };
export type Session = SessionView;
export type StartBody = StartRequest;
export type UploadState = SessionView['state'];
/** `GET /image/{id}/content/info`. */
export type ContentInfo = z.infer<typeof contentInfoSchema>;

export interface CompletedPart {
  part_number: number;
  etag: string;
}

export const sha1Hex = (data: Buffer): string => createHash('sha1').update(data).digest('hex');

/** Random bytes: `parts` full parts of `partSize` plus a `tail`. */
export const makeContent = (parts: number, tail: number, partSize = PART): Buffer => randomBytes(parts * partSize + tail);

const contentPath = (image: string): string => `/image/${encodeURIComponent(image)}/content`;
export const uploadPath = (image: string, uploadId: string): string => `${contentPath(image)}/upload/${encodeURIComponent(uploadId)}`;

/** A successful response's data, or an error that shows what came back. */
export function expectData<T>(res: ApiResponse<T>, status: number, what: string): T {
  if (res.status !== status || res.body.success !== true || res.body.data === undefined) {
    throw new Error(`${what}: expected ${status}, got ${res.status} ${res.text.slice(0, 500)}`);
  }
  return res.body.data;
}

/**
 * Starts an upload session. Random test bytes are not squashfs, so a body that
 * names no `fmt` declares `raw`; a test of the default format passes
 * `fmt: undefined` (dropped from the JSON) or `cwsquash` with real squashfs.
 */
/** The image's content info; fails the test unless the answer is 200. */
export const contentInfo = async (image: string): Promise<ContentInfo> =>
  expectData(await call<ContentInfo>('GET', `${contentPath(image)}/info`), 200, `info ${image}`);

export const start = (image: string, body: StartBody | Record<string, unknown>, options: CallOptions = {}) =>
  call<Session>('PUT', contentPath(image), { ...options, body: 'fmt' in body ? body : { ...body, fmt: 'raw' } });

export async function startUpload(image: string, body: StartBody): Promise<Session> {
  return expectData(await start(image, body), 201, `start upload on ${image}`);
}

/** The bytes of part `n` (1-based) of `data` cut into `partSize` pieces. */
export const partBytes = (data: Buffer, partSize: number, n: number): Buffer =>
  data.subarray((n - 1) * partSize, Math.min(data.length, n * partSize));

/** PUTs bytes to a presigned part URL as a plain HTTP client; returns S3's ETag. */
export async function putPart(url: string, bytes: Buffer): Promise<string> {
  const res = await fetch(url, { method: 'PUT', body: bytes });
  const text = await res.text();
  if (!res.ok) throw new Error(`PUT part: ${res.status} ${text.slice(0, 500)}`);
  const etag = res.headers.get('etag');
  if (!etag) throw new Error('PUT part: S3 gave no ETag header');
  return etag;
}

/** Uploads the given parts (default: every URL the session handed out), in parallel. */
export async function uploadParts(
  session: Pick<Session, 'part_size'> & { parts?: PartUrl[] },
  data: Buffer,
  only?: number[],
): Promise<CompletedPart[]> {
  const urls = (session.parts ?? []).filter((p) => only === undefined || only.includes(p.part_number));
  if (only !== undefined && urls.length !== only.length) {
    throw new Error(`the session has no URL for some of parts ${only.join(', ')}`);
  }
  return Promise.all(
    urls.map(async (p) => ({
      part_number: p.part_number,
      etag: await putPart(p.url, partBytes(data, session.part_size, p.part_number)),
    })),
  );
}

export const complete = (image: string, uploadId: string, parts: CompletedPart[] | unknown, options: CallOptions = {}) =>
  call<Session>('POST', uploadPath(image, uploadId), { ...options, body: { parts } });

export const describe = (image: string, uploadId: string, options: CallOptions = {}) =>
  call<Session>('GET', uploadPath(image, uploadId), options);

export const abort = (image: string, uploadId: string, options: CallOptions = {}) =>
  call<Session>('DELETE', uploadPath(image, uploadId), options);

/**
 * Polls the session until it is in one of `states` (default: the hasher's
 * end states), for at most `timeoutMs`. Fails with the last state seen.
 */
export async function waitForState(
  image: string,
  uploadId: string,
  states: readonly UploadState[] = ['ready', 'failed'],
  timeoutMs = 30_000,
): Promise<Session> {
  const deadline = Date.now() + timeoutMs;
  let last = '';
  for (let delay = 25; ; delay = Math.min(delay * 2, 250)) {
    const res = await describe(image, uploadId);
    if (res.status === 200 && res.body.data) {
      if (states.includes(res.body.data.state)) return res.body.data;
      last = `state ${res.body.data.state}`;
    } else {
      last = `${res.status} ${res.text.slice(0, 300)}`;
    }
    if (Date.now() >= deadline) {
      throw new Error(`upload ${uploadId} did not reach ${states.join('/')} within ${timeoutMs} ms (last: ${last})`);
    }
    await new Promise((r) => setTimeout(r, delay));
  }
}

/** Polls `probe` until it returns a value other than undefined; bounded. */
export async function eventually<T>(probe: () => Promise<T | undefined>, what: string, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (let delay = 25; ; delay = Math.min(delay * 2, 250)) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() >= deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, delay));
  }
}

/** Starts, uploads every part and completes; returns the accepted (`hashing`) session. */
export async function uploadAndComplete(image: string, data: Buffer, body: Partial<StartBody> = {}): Promise<Session> {
  const session = await startUpload(image, { size: data.length, part_size: PART, ...body });
  const parts = await uploadParts(session, data);
  return expectData(await complete(image, session.upload_id, parts), 202, `complete ${session.upload_id}`);
}

/** The whole flow: upload, complete, wait for the hasher's verdict. */
export async function uploadContent(image: string, data: Buffer, body: Partial<StartBody> = {}): Promise<Session> {
  const accepted = await uploadAndComplete(image, data, body);
  return waitForState(image, accepted.upload_id);
}

/** Like `curl -L`: GET the content route and follow the redirect to S3. */
export async function downloadFollowing(
  image: string,
  token = stack().tokens.admin,
): Promise<{ status: number; bytes: Buffer; url: string }> {
  const res = await fetch(`${stack().apiUrl}${contentPath(image)}`, {
    headers: { authorization: `Bearer ${token}` },
    redirect: 'follow',
  });
  return { status: res.status, bytes: Buffer.from(await res.arrayBuffer()), url: res.url };
}

/** GETs a URL (optionally a byte range) as a plain HTTP client. */
export async function fetchBytes(url: string, range?: string): Promise<{ status: number; bytes: Buffer; headers: Headers }> {
  const res = await fetch(url, range === undefined ? {} : { headers: { range } });
  return { status: res.status, bytes: Buffer.from(await res.arrayBuffer()), headers: res.headers };
}

/* Direct access to the stack's stores, for checks under the API. */

let s3Client: S3Client | undefined;
let docClient: DynamoDBDocumentClient | undefined;

const credentials = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' };

export function testS3(): S3Client {
  s3Client ??= new S3Client({
    endpoint: stack().s3Endpoint,
    region: 'us-east-1',
    forcePathStyle: true,
    credentials,
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  });
  return s3Client;
}

export function testDdb(): DynamoDBDocumentClient {
  docClient ??= DynamoDBDocumentClient.from(new DynamoDBClient({ endpoint: stack().dynamodbEndpoint, region: 'us-east-1', credentials }), {
    marshallOptions: { removeUndefinedValues: true },
  });
  return docClient;
}

/** A new image whose content is `tail` random bytes, uploaded and ready. */
export async function imageWithContent(tail: number): Promise<{ image: { uid: string; name: string }; old: Buffer; first: Session }> {
  const image = await createImage();
  const old = makeContent(0, tail);
  const first = await uploadContent(image.uid, old);
  if (first.state !== 'ready') throw new Error(`the first upload of ${image.uid} ended ${first.state}: ${first.reason ?? ''}`);
  return { image, old, first };
}

/** Whether the stack's S3 holds an object at `key`. */
export async function objectExists(key: string): Promise<boolean> {
  try {
    await testS3().send(new HeadObjectCommand({ Bucket: stack().bucket, Key: key }));
    return true;
  } catch (error) {
    if (error instanceof NotFound || (error instanceof Error && error.name === 'NotFound')) return false;
    throw error;
  }
}
