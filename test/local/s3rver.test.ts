/**
 * The local S3 (s3rver 3.7.1 with local/s3-store.ts and local/s3-operations.ts) driven by the real
 * AWS SDK v3, for the operations the content lifecycle relies on. Each test
 * asserts what S3 itself answers, so that code passing here behaves the same on AWS.
 */
import { createHash, randomBytes } from 'node:crypto';
import { execFile } from 'node:child_process';
import { mkdtemp, open, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { promisify } from 'node:util';
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CopyObjectCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  ListPartsCommand,
  PutObjectCommand,
  S3Client,
  UploadPartCommand,
  type CompletedPart,
} from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { startLocalS3, type LocalS3, type S3EventRecordLike } from '../../local/s3.js';
import { LocalS3Store } from '../../local/s3-store.js';
import { contentKey } from '../../functions/core/db/schema.js';

const BUCKET = 'images-test';
const MiB = 1024 * 1024;
const PART = 5 * MiB; // the S3 minimum for every part but the last

let dir: string;
let s3: LocalS3;
let client: S3Client;
/** Like the service's presigning client: no default CRC32 in the signed URL. */
let presigner: S3Client;
const events: S3EventRecordLike[] = [];

function makeClient(endpoint: string, checksums: 'WHEN_REQUIRED' | 'WHEN_SUPPORTED'): S3Client {
  return new S3Client({
    endpoint,
    region: 'us-east-1',
    credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
    forcePathStyle: true,
    requestChecksumCalculation: checksums,
  });
}

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 's3rver-test-'));
  s3 = await startLocalS3({ directory: dir, port: 0, bucket: BUCKET, onEvent: (e) => events.push(e) });
  client = makeClient(s3.endpoint, 'WHEN_SUPPORTED');
  presigner = makeClient(s3.endpoint, 'WHEN_REQUIRED');
});

afterAll(async () => {
  client?.destroy();
  presigner?.destroy();
  await s3?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

const md5 = (b: Uint8Array): string => createHash('md5').update(b).digest('hex');
/** S3's multipart ETag: md5 of the concatenated binary part md5s, then `-<count>`. */
function multipartEtag(parts: Uint8Array[]): string {
  const h = createHash('md5');
  for (const p of parts) h.update(createHash('md5').update(p).digest());
  return `"${h.digest('hex')}-${parts.length}"`;
}

let keyCounter = 0;
const newKey = (label: string): string => contentKey(`${label}-${++keyCounter}-${randomBytes(4).toString('hex')}`);

async function createUpload(key: string, contentType?: string): Promise<string> {
  const out = await client.send(new CreateMultipartUploadCommand({ Bucket: BUCKET, Key: key, ContentType: contentType }));
  expect(out.Bucket).toBe(BUCKET);
  expect(out.Key).toBe(key);
  expect(out.UploadId).toMatch(/^\S+$/);
  return out.UploadId as string;
}

function partUrl(key: string, uploadId: string, partNumber: number): Promise<string> {
  return getSignedUrl(presigner, new UploadPartCommand({ Bucket: BUCKET, Key: key, UploadId: uploadId, PartNumber: partNumber }), {
    expiresIn: 3600,
  });
}

/** What a node does: a plain fetch PUT of the bytes to a presigned part URL. */
async function putPartByUrl(key: string, uploadId: string, partNumber: number, body: Uint8Array): Promise<Response> {
  return fetch(await partUrl(key, uploadId, partNumber), { method: 'PUT', body });
}

async function uploadPart(key: string, uploadId: string, partNumber: number, body: Uint8Array): Promise<CompletedPart> {
  const res = await putPartByUrl(key, uploadId, partNumber, body);
  expect(res.status, await res.clone().text()).toBe(200);
  const etag = res.headers.get('etag');
  expect(etag).toBe(`"${md5(body)}"`);
  return { PartNumber: partNumber, ETag: etag as string };
}

function complete(key: string, uploadId: string, parts: CompletedPart[]) {
  return client.send(
    new CompleteMultipartUploadCommand({
      Bucket: BUCKET,
      Key: key,
      UploadId: uploadId,
      MultipartUpload: { Parts: parts },
    }),
  );
}

async function getBytes(key: string, range?: string) {
  const out = await client.send(new GetObjectCommand({ Bucket: BUCKET, Key: key, Range: range }));
  if (!out.Body) throw new Error('GetObject returned no body');
  return { out, bytes: Buffer.from(await out.Body.transformToByteArray()) };
}

/** Every file path under the store directory (the local S3's disk state). */
async function filesOnDisk(): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true });
  return entries.map((e) => e.toString());
}

const eventsFor = (key: string) => events.flatMap((e) => e.Records).filter((r) => r.s3.object.key === key);

describe('startLocalS3', () => {
  it('listens on a free port of 127.0.0.1 and created the bucket', async () => {
    expect(s3.port).toBeGreaterThan(0);
    expect(s3.endpoint).toBe(`http://127.0.0.1:${s3.port}`);
    const files = await readdir(dir);
    expect(files).toContain(BUCKET);
  });

  it('restarts over an existing directory and keeps its objects', async () => {
    const key = newKey('persist');
    await client.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: 'kept' }));
    const second = await startLocalS3({ directory: dir, bucket: BUCKET });
    const other = makeClient(second.endpoint, 'WHEN_REQUIRED');
    try {
      expect(second.port).not.toBe(s3.port);
      const out = await other.send(new GetObjectCommand({ Bucket: BUCKET, Key: key }));
      expect(await out.Body?.transformToString()).toBe('kept');
    } finally {
      other.destroy();
      await second.close();
    }
  });
});

describe('multipart upload through presigned URLs', () => {
  it('uploads parts with fetch, lists them page by page, completes and emits CompleteMultipartUpload', async () => {
    const key = newKey('mpu');
    const uploadId = await createUpload(key, 'application/x-cwsquash');
    const bodies = [randomBytes(PART), randomBytes(PART), randomBytes(1234)];
    const [b1, b2, b3] = bodies as [Buffer, Buffer, Buffer];

    // Parts 1 and 3 first (a client interrupted half way).
    const p1 = await uploadPart(key, uploadId, 1, b1);
    const p3 = await uploadPart(key, uploadId, 3, b3);

    const before = Date.now();
    const page1 = await client.send(new ListPartsCommand({ Bucket: BUCKET, Key: key, UploadId: uploadId, MaxParts: 1 }));
    expect(page1.Bucket).toBe(BUCKET);
    expect(page1.Key).toBe(key);
    expect(page1.UploadId).toBe(uploadId);
    expect(page1.MaxParts).toBe(1);
    expect(page1.IsTruncated).toBe(true);
    expect(page1.NextPartNumberMarker).toBe('1');
    expect(page1.Parts).toHaveLength(1);
    const [listed1] = page1.Parts ?? [];
    expect(listed1).toMatchObject({ PartNumber: 1, ETag: p1.ETag, Size: PART });
    expect(listed1?.LastModified).toBeInstanceOf(Date);
    expect(Math.abs((listed1?.LastModified?.getTime() ?? 0) - before)).toBeLessThan(60_000);

    const page2 = await client.send(
      new ListPartsCommand({ Bucket: BUCKET, Key: key, UploadId: uploadId, MaxParts: 1, PartNumberMarker: '1' }),
    );
    expect(page2.PartNumberMarker).toBe('1');
    expect(page2.IsTruncated).toBe(false);
    expect(page2.Parts?.map((p) => [p.PartNumber, p.ETag, p.Size])).toEqual([[3, p3.ETag, 1234]]);

    // Resume: the missing part, then the full listing (default page size).
    const p2 = await uploadPart(key, uploadId, 2, b2);
    const all = await client.send(new ListPartsCommand({ Bucket: BUCKET, Key: key, UploadId: uploadId }));
    expect(all.IsTruncated).toBe(false);
    expect(all.MaxParts).toBe(1000);
    expect(all.Parts?.map((p) => p.PartNumber)).toEqual([1, 2, 3]);
    expect(all.Parts?.map((p) => p.Size)).toEqual([PART, PART, 1234]);

    const eventsBefore = eventsFor(key).length;
    const done = await complete(key, uploadId, [p1, p2, p3]);
    expect(done.Bucket).toBe(BUCKET);
    expect(done.Key).toBe(key);
    expect(done.ETag).toBe(multipartEtag(bodies));

    // The object: bytes in part order, metadata from CreateMultipartUpload, the same ETag.
    const { bytes } = await getBytes(key);
    expect(bytes.equals(Buffer.concat(bodies))).toBe(true);
    const head = await client.send(new HeadObjectCommand({ Bucket: BUCKET, Key: key }));
    expect(head.ContentLength).toBe(2 * PART + 1234);
    expect(head.ETag).toBe(done.ETag);
    expect(head.ContentType).toBe('application/x-cwsquash');

    // One S3 event, named and shaped as S3 sends it for a completed multipart upload.
    const recs = eventsFor(key).slice(eventsBefore);
    expect(recs).toHaveLength(1);
    const [rec] = recs;
    expect(rec?.eventSource).toBe('aws:s3');
    expect(rec?.eventName).toBe('ObjectCreated:CompleteMultipartUpload');
    expect(rec?.s3.bucket.name).toBe(BUCKET);
    expect(rec?.s3.bucket.arn).toBe(`arn:aws:s3:::${BUCKET}`);
    expect(rec?.s3.object.key).toBe(key);
    expect(rec?.s3.object.size).toBe(2 * PART + 1234);
    expect(rec?.s3.object.eTag).toBe(done.ETag?.replace(/"/g, ''));
    expect(rec?.s3.object.sequencer).toMatch(/^[0-9A-F]+$/);
    expect(Number.isNaN(Date.parse(rec?.eventTime ?? ''))).toBe(false);

    // The upload is gone once completed.
    await expect(client.send(new ListPartsCommand({ Bucket: BUCKET, Key: key, UploadId: uploadId }))).rejects.toMatchObject({
      name: 'NoSuchUpload',
      $metadata: { httpStatusCode: 404 },
    });
    await expect(complete(key, uploadId, [p1, p2, p3])).rejects.toMatchObject({ name: 'NoSuchUpload' });
    const leftovers = (await filesOnDisk()).filter((f) => f.includes(uploadId));
    expect(leftovers).toEqual([]);
  });

  it('re-uploading a part replaces it (a retried PUT)', async () => {
    const key = newKey('retry');
    const uploadId = await createUpload(key);
    await uploadPart(key, uploadId, 1, randomBytes(100));
    const second = randomBytes(200);
    const p1 = await uploadPart(key, uploadId, 1, second);
    const list = await client.send(new ListPartsCommand({ Bucket: BUCKET, Key: key, UploadId: uploadId }));
    expect(list.Parts?.map((p) => [p.PartNumber, p.ETag, p.Size])).toEqual([[1, p1.ETag, 200]]);
    await complete(key, uploadId, [p1]);
    expect((await getBytes(key)).bytes.equals(second)).toBe(true);
  });

  it('a part PUT whose client goes away mid-body stores nothing, and the part uploaded before stays', async () => {
    const key = newKey('cut');
    const uploadId = await createUpload(key);
    const first = randomBytes(300);
    const p1 = await uploadPart(key, uploadId, 1, first);
    // Declares 6 MiB, sends 1 MiB of it, then drops the connection.
    const url = new URL(await partUrl(key, uploadId, 1));
    await new Promise<void>((resolve) => {
      const req = request(url, { method: 'PUT', headers: { 'content-length': String(6 * MiB) } });
      req.on('error', () => resolve());
      req.write(randomBytes(MiB), () => setTimeout(() => req.destroy(), 50));
    });
    // The server notices the cut when its socket closes: wait (bounded) for its temporary file to go.
    const tmpFiles = async () => (await filesOnDisk()).filter((f) => f.includes(uploadId) && f.endsWith('.tmp'));
    for (let waited = 0; (await tmpFiles()).length > 0 && waited < 5000; waited += 50) {
      await new Promise((r) => setTimeout(r, 50));
    }
    expect(await tmpFiles()).toEqual([]);
    const list = await client.send(new ListPartsCommand({ Bucket: BUCKET, Key: key, UploadId: uploadId }));
    expect(list.Parts?.map((p) => [p.PartNumber, p.ETag, p.Size])).toEqual([[1, p1.ETag, 300]]);
  });

  it('builds the object from the listed parts only', async () => {
    const key = newKey('subset');
    const uploadId = await createUpload(key);
    const b1 = randomBytes(PART);
    const b3 = randomBytes(10);
    const p1 = await uploadPart(key, uploadId, 1, b1);
    await uploadPart(key, uploadId, 2, randomBytes(20));
    const p3 = await uploadPart(key, uploadId, 3, b3);
    const done = await complete(key, uploadId, [p1, p3]);
    expect(done.ETag).toBe(multipartEtag([b1, b3]));
    expect((await getBytes(key)).bytes.equals(Buffer.concat([b1, b3]))).toBe(true);
    expect((await filesOnDisk()).filter((f) => f.includes(uploadId))).toEqual([]);
  });

  it('accepts UploadPart from the SDK client itself (default CRC32 checksum header)', async () => {
    const key = newKey('sdk-part');
    const uploadId = await createUpload(key);
    const body = randomBytes(1000);
    const out = await client.send(new UploadPartCommand({ Bucket: BUCKET, Key: key, UploadId: uploadId, PartNumber: 1, Body: body }));
    expect(out.ETag).toBe(`"${md5(body)}"`);
    await complete(key, uploadId, [{ PartNumber: 1, ETag: out.ETag as string }]);
    expect((await getBytes(key)).bytes.equals(body)).toBe(true);
  });

  it('accepts UploadPart with a stream body from the SDK (aws-chunked with a CRC32 trailer)', async () => {
    const key = newKey('sdk-stream-part');
    const uploadId = await createUpload(key);
    const body = randomBytes(PART);
    const out = await client.send(
      new UploadPartCommand({
        Bucket: BUCKET,
        Key: key,
        UploadId: uploadId,
        PartNumber: 1,
        Body: Readable.from([body.subarray(0, 1000), body.subarray(1000)]),
        ContentLength: body.length,
      }),
    );
    expect(out.ETag).toBe(`"${md5(body)}"`);
    const list = await client.send(new ListPartsCommand({ Bucket: BUCKET, Key: key, UploadId: uploadId }));
    expect(list.Parts?.[0]?.Size).toBe(body.length);
    await complete(key, uploadId, [{ PartNumber: 1, ETag: out.ETag as string }]);
    expect((await getBytes(key)).bytes.equals(body)).toBe(true);
  });

  it('rejects a part PUT to a URL presigned with the default CRC32 of an empty body (BadDigest, as AWS does)', async () => {
    const key = newKey('trap');
    const uploadId = await createUpload(key);
    const good = await uploadPart(key, uploadId, 1, randomBytes(50));
    const url = await getSignedUrl(
      client, // requestChecksumCalculation: 'WHEN_SUPPORTED', the SDK default
      new UploadPartCommand({ Bucket: BUCKET, Key: key, UploadId: uploadId, PartNumber: 1 }),
      { expiresIn: 60 },
    );
    expect(new URL(url).searchParams.get('x-amz-checksum-crc32')).toBe('AAAAAA==');
    const res = await fetch(url, { method: 'PUT', body: randomBytes(100) });
    expect(res.status).toBe(400);
    expect(await res.text()).toContain('<Code>BadDigest</Code>');
    // The refused PUT leaves the part uploaded before untouched.
    const list = await client.send(new ListPartsCommand({ Bucket: BUCKET, Key: key, UploadId: uploadId }));
    expect(list.Parts?.map((p) => [p.PartNumber, p.ETag, p.Size])).toEqual([[1, good.ETag, 50]]);
    expect((await filesOnDisk()).filter((f) => f.endsWith('.tmp'))).toEqual([]);
  });

  it('answers 404 NoSuchUpload to a part PUT for an unknown upload, and stores nothing', async () => {
    const key = newKey('unknown');
    const uploadId = 'f'.repeat(32);
    const res = await putPartByUrl(key, uploadId, 1, randomBytes(10));
    expect(res.status).toBe(404);
    expect(await res.text()).toContain('<Code>NoSuchUpload</Code>');
    expect((await filesOnDisk()).filter((f) => f.includes(uploadId))).toEqual([]);

    await expect(
      client.send(new UploadPartCommand({ Bucket: BUCKET, Key: key, UploadId: 'not-an-id', PartNumber: 1, Body: 'x' })),
    ).rejects.toMatchObject({ name: 'NoSuchUpload', $metadata: { httpStatusCode: 404 } });
  });

  it('refuses a part of an upload under another key (NoSuchUpload), as S3 does', async () => {
    const key = newKey('owner');
    const uploadId = await createUpload(key);
    const res = await putPartByUrl(`${key}-other`, uploadId, 1, randomBytes(10));
    expect(res.status).toBe(404);
    await expect(client.send(new ListPartsCommand({ Bucket: BUCKET, Key: `${key}-other`, UploadId: uploadId }))).rejects.toMatchObject({
      name: 'NoSuchUpload',
    });
  });

  it('rejects part numbers outside 1..10000 (InvalidArgument)', async () => {
    const key = newKey('partno');
    const uploadId = await createUpload(key);
    for (const n of [0, 10001]) {
      const res = await putPartByUrl(key, uploadId, n, randomBytes(10));
      expect(res.status).toBe(400);
      expect(await res.text()).toContain('<Code>InvalidArgument</Code>');
    }
  });

  it('ListParts of an unknown upload is 404 NoSuchUpload', async () => {
    await expect(
      client.send(new ListPartsCommand({ Bucket: BUCKET, Key: newKey('nolist'), UploadId: 'a'.repeat(32) })),
    ).rejects.toMatchObject({ name: 'NoSuchUpload', $metadata: { httpStatusCode: 404 } });
  });
});

describe('AbortMultipartUpload', () => {
  it('answers 204 and removes the parts from disk; the upload is then unknown', async () => {
    const key = newKey('abort');
    const uploadId = await createUpload(key);
    const p1 = await uploadPart(key, uploadId, 1, randomBytes(PART));
    await uploadPart(key, uploadId, 2, randomBytes(100));
    expect((await filesOnDisk()).some((f) => f.includes(uploadId))).toBe(true);

    const out = await client.send(new AbortMultipartUploadCommand({ Bucket: BUCKET, Key: key, UploadId: uploadId }));
    expect(out.$metadata.httpStatusCode).toBe(204);
    expect((await filesOnDisk()).filter((f) => f.includes(uploadId))).toEqual([]);

    const noSuchUpload = { name: 'NoSuchUpload', $metadata: { httpStatusCode: 404 } };
    await expect(client.send(new ListPartsCommand({ Bucket: BUCKET, Key: key, UploadId: uploadId }))).rejects.toMatchObject(noSuchUpload);
    await expect(complete(key, uploadId, [p1])).rejects.toMatchObject(noSuchUpload);
    await expect(client.send(new AbortMultipartUploadCommand({ Bucket: BUCKET, Key: key, UploadId: uploadId }))).rejects.toMatchObject(
      noSuchUpload,
    );
    const res = await putPartByUrl(key, uploadId, 3, randomBytes(10));
    expect(res.status).toBe(404);
    await expect(client.send(new HeadObjectCommand({ Bucket: BUCKET, Key: key }))).rejects.toMatchObject({
      $metadata: { httpStatusCode: 404 },
    });
    expect(eventsFor(key)).toEqual([]);
  });

  it('leaves an existing object at the key alone', async () => {
    const key = newKey('abort-live');
    await client.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: 'live' }));
    const uploadId = await createUpload(key);
    await uploadPart(key, uploadId, 1, randomBytes(10));
    await client.send(new AbortMultipartUploadCommand({ Bucket: BUCKET, Key: key, UploadId: uploadId }));
    expect((await getBytes(key)).bytes.toString()).toBe('live');
  });
});

describe('CompleteMultipartUpload validation', () => {
  async function twoParts(label: string) {
    const key = newKey(label);
    const uploadId = await createUpload(key);
    const b1 = randomBytes(PART);
    const b2 = randomBytes(10);
    const p1 = await uploadPart(key, uploadId, 1, b1);
    const p2 = await uploadPart(key, uploadId, 2, b2);
    return { key, uploadId, p1, p2, bodies: [b1, b2] };
  }

  it('rejects an ETag that does not match the stored part (InvalidPart), and the upload survives', async () => {
    const { key, uploadId, p1, p2, bodies } = await twoParts('badetag');
    await expect(complete(key, uploadId, [p1, { PartNumber: 2, ETag: `"${'0'.repeat(32)}"` }])).rejects.toMatchObject({
      name: 'InvalidPart',
      $metadata: { httpStatusCode: 400 },
    });
    // Nothing was created, and the client can still complete with the right list.
    await expect(client.send(new HeadObjectCommand({ Bucket: BUCKET, Key: key }))).rejects.toMatchObject({
      $metadata: { httpStatusCode: 404 },
    });
    expect(eventsFor(key)).toEqual([]);
    // S3 compares ETags without their quotes.
    await complete(key, uploadId, [p1, { PartNumber: 2, ETag: p2.ETag?.replace(/"/g, '') }]);
    expect((await getBytes(key)).bytes.equals(Buffer.concat(bodies))).toBe(true);
  });

  it('rejects a part that was never uploaded (InvalidPart)', async () => {
    const { key, uploadId, p1, p2 } = await twoParts('missing');
    await expect(complete(key, uploadId, [p1, p2, { PartNumber: 3, ETag: p2.ETag }])).rejects.toMatchObject({
      name: 'InvalidPart',
      $metadata: { httpStatusCode: 400 },
    });
  });

  it('rejects parts out of ascending order, or repeated (InvalidPartOrder)', async () => {
    const { key, uploadId, p1, p2 } = await twoParts('order');
    await expect(complete(key, uploadId, [p2, p1])).rejects.toMatchObject({
      name: 'InvalidPartOrder',
      $metadata: { httpStatusCode: 400 },
    });
    await expect(complete(key, uploadId, [p1, p1, p2])).rejects.toMatchObject({ name: 'InvalidPartOrder' });
  });

  it('rejects a part under 5 MiB that is not the last one (EntityTooSmall)', async () => {
    const key = newKey('small');
    const uploadId = await createUpload(key);
    const p1 = await uploadPart(key, uploadId, 1, randomBytes(PART - 1));
    const p2 = await uploadPart(key, uploadId, 2, randomBytes(10));
    await expect(complete(key, uploadId, [p1, p2])).rejects.toMatchObject({
      name: 'EntityTooSmall',
      $metadata: { httpStatusCode: 400 },
    });
    // A single small part is a valid (last) part.
    await expect(complete(key, uploadId, [p2])).resolves.toMatchObject({ Key: key });
  });

  it('answers 404 NoSuchUpload for an unknown upload', async () => {
    await expect(complete(newKey('nocomplete'), 'b'.repeat(32), [{ PartNumber: 1, ETag: `"${'0'.repeat(32)}"` }])).rejects.toMatchObject({
      name: 'NoSuchUpload',
      $metadata: { httpStatusCode: 404 },
    });
  });
});

describe('objects', () => {
  const body = Buffer.from('0123456789abcdefghijklmnopqrstuvwxyz');

  async function putSample(label: string): Promise<string> {
    const key = newKey(label);
    const out = await client.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: body, ContentType: 'text/plain' }));
    expect(out.ETag).toBe(`"${md5(body)}"`);
    return key;
  }

  it('PutObject emits ObjectCreated:Put; HeadObject reports size, ETag, type and date', async () => {
    const key = await putSample('head');
    const [rec] = eventsFor(key);
    expect(rec?.eventName).toBe('ObjectCreated:Put');
    expect(rec?.s3.object.size).toBe(body.length);
    expect(rec?.s3.object.eTag).toBe(md5(body));
    const head = await client.send(new HeadObjectCommand({ Bucket: BUCKET, Key: key }));
    expect(head.ContentLength).toBe(body.length);
    expect(head.ETag).toBe(`"${md5(body)}"`);
    expect(head.ContentType).toBe('text/plain');
    expect(head.LastModified).toBeInstanceOf(Date);
    expect(head.AcceptRanges).toBe('bytes');
  });

  it('PutObject with a stream body (aws-chunked) stores the decoded bytes', async () => {
    const key = newKey('stream-put');
    const data = randomBytes(3 * MiB + 300_000); // past the md5 batch: hashed on the worker thread
    const out = await client.send(
      new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: Readable.from([data]), ContentLength: data.length }),
    );
    expect(out.ETag).toBe(`"${md5(data)}"`);
    const { out: got, bytes } = await getBytes(key);
    expect(bytes.equals(data)).toBe(true);
    expect(got.ContentEncoding).toBeUndefined();
    expect(eventsFor(key)[0]?.s3.object.size).toBe(data.length);
  });

  it('PutObject with a CRC32 that does not match the body is refused (BadDigest), storing nothing', async () => {
    const badPut = (key: string) => client.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: 'abc', ChecksumCRC32: 'AAAAAA==' }));
    const fresh = newKey('bad-crc');
    await expect(badPut(fresh)).rejects.toMatchObject({ name: 'BadDigest', $metadata: { httpStatusCode: 400 } });
    await expect(client.send(new HeadObjectCommand({ Bucket: BUCKET, Key: fresh }))).rejects.toMatchObject({
      $metadata: { httpStatusCode: 404 },
    });
    const existing = await putSample('bad-crc-existing');
    await expect(badPut(existing)).rejects.toMatchObject({ name: 'BadDigest' });
    expect((await getBytes(existing)).bytes.equals(body)).toBe(true);
    expect(eventsFor(fresh)).toEqual([]);
    expect((await filesOnDisk()).filter((f) => f.endsWith('.tmp'))).toEqual([]);
  });

  it('many refused PutObjects at once leave no temporary file behind', async () => {
    // A refusal can come before the temporary file's open() has finished; the file must go all the same.
    const keys = Array.from({ length: 40 }, (_, i) => newKey(`bad-crc-many-${i}`));
    const results = await Promise.allSettled(
      keys.map((key) => client.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: 'abc', ChecksumCRC32: 'AAAAAA==' }))),
    );
    expect(results.every((r) => r.status === 'rejected')).toBe(true);
    expect((await filesOnDisk()).filter((f) => f.includes('bad-crc-many'))).toEqual([]);
  });

  it('a Range on an empty object is not satisfiable (416), as in S3', async () => {
    const key = newKey('empty');
    await client.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: '' }));
    expect((await getBytes(key)).bytes.length).toBe(0);
    await expect(getBytes(key, 'bytes=0-')).rejects.toMatchObject({ name: 'InvalidRange', $metadata: { httpStatusCode: 416 } });
  });

  it('GetObject with a Range answers 206 with Content-Range', async () => {
    const key = await putSample('range');
    const cases: [string, number, number][] = [
      ['bytes=10-19', 10, 19],
      ['bytes=0-0', 0, 0],
      ['bytes=30-', 30, body.length - 1],
      ['bytes=-5', body.length - 5, body.length - 1],
      ['bytes=30-1000', 30, body.length - 1],
    ];
    for (const [range, start, end] of cases) {
      const { out, bytes } = await getBytes(key, range);
      expect(out.$metadata.httpStatusCode, range).toBe(206);
      expect(out.ContentRange, range).toBe(`bytes ${start}-${end}/${body.length}`);
      expect(out.ContentLength, range).toBe(end - start + 1);
      expect(bytes.equals(body.subarray(start, end + 1)), range).toBe(true);
    }
    await expect(getBytes(key, `bytes=${body.length}-`)).rejects.toMatchObject({
      name: 'InvalidRange',
      $metadata: { httpStatusCode: 416 },
    });
  });

  it('serves presigned GETs to plain fetch, whole and ranged', async () => {
    const key = await putSample('presigned-get');
    const url = await getSignedUrl(presigner, new GetObjectCommand({ Bucket: BUCKET, Key: key }), { expiresIn: 60 });
    const whole = await fetch(url);
    expect(whole.status).toBe(200);
    expect(Buffer.from(await whole.arrayBuffer()).equals(body)).toBe(true);
    const ranged = await fetch(url, { headers: { Range: 'bytes=5-9' } });
    expect(ranged.status).toBe(206);
    expect(ranged.headers.get('content-range')).toBe(`bytes 5-9/${body.length}`);
    expect(await ranged.text()).toBe('56789');
  });

  it('refuses an expired presigned URL (403 AccessDenied)', async () => {
    const key = await putSample('expired');
    const url = await getSignedUrl(presigner, new GetObjectCommand({ Bucket: BUCKET, Key: key }), {
      expiresIn: 1,
      signingDate: new Date(Date.now() - 60_000),
    });
    const res = await fetch(url);
    expect(res.status).toBe(403);
    expect(await res.text()).toContain('<Code>AccessDenied</Code>');
  });

  it('DeleteObject answers 204, emits ObjectRemoved:Delete, and the key is gone', async () => {
    const key = await putSample('delete');
    const out = await client.send(new DeleteObjectCommand({ Bucket: BUCKET, Key: key }));
    expect(out.$metadata.httpStatusCode).toBe(204);
    expect(eventsFor(key).map((r) => r.eventName)).toEqual(['ObjectCreated:Put', 'ObjectRemoved:Delete']);
    expect(eventsFor(key).map((r) => r.s3.bucket.arn)).toEqual([`arn:aws:s3:::${BUCKET}`, `arn:aws:s3:::${BUCKET}`]);
    await expect(client.send(new HeadObjectCommand({ Bucket: BUCKET, Key: key }))).rejects.toMatchObject({
      name: 'NotFound',
      $metadata: { httpStatusCode: 404 },
    });
    await expect(getBytes(key)).rejects.toMatchObject({ name: 'NoSuchKey' });
    // Deleting a missing key is not an error in S3.
    const again = await client.send(new DeleteObjectCommand({ Bucket: BUCKET, Key: key }));
    expect(again.$metadata.httpStatusCode).toBe(204);
  });
});

describe('multipart objects keep their parts (completion copies no bytes)', () => {
  /** A completed 3-part object: two full parts and a tail. */
  async function multipartObject(label: string): Promise<{ key: string; data: Buffer }> {
    const key = newKey(label);
    const uploadId = await createUpload(key);
    const bodies = [randomBytes(PART), randomBytes(PART), randomBytes(777)];
    const parts: CompletedPart[] = [];
    for (const [i, b] of bodies.entries()) parts.push(await uploadPart(key, uploadId, i + 1, b));
    await complete(key, uploadId, parts);
    return { key, data: Buffer.concat(bodies) };
  }

  const objectFile = (key: string) => path.join(dir, BUCKET, `${key}._S3rver_object`);
  /** The local S3's store over the same directory, with nothing cached: a reader that has looked nothing up yet. */
  const freshStore = () => new LocalS3Store(dir);
  const partSets = async () => readdir(path.join(dir, BUCKET, '._S3rver_multipart')).catch(() => [] as string[]);

  it('the object file takes no space for the bytes; whole and ranged reads cross part boundaries', async () => {
    const { key, data } = await multipartObject('sparse');
    const file = await stat(objectFile(key));
    expect(file.size).toBe(data.length);
    expect(file.blocks * 512).toBeLessThan(MiB); // sparse: the bytes stayed in the part files
    expect((await getBytes(key)).bytes.equals(data)).toBe(true);
    const last = data.length - 1;
    const cases: [string, number, number][] = [
      [`bytes=${PART - 10}-${PART + 9}`, PART - 10, PART + 9], // across parts 1 and 2
      [`bytes=${PART - 1}-${2 * PART}`, PART - 1, 2 * PART], // the last byte of 1 to the first of 3
      [`bytes=${PART}-${PART}`, PART, PART], // the first byte of part 2
      ['bytes=-700', data.length - 700, last], // within the tail
      [`bytes=${2 * PART + 5}-`, 2 * PART + 5, last],
      ['bytes=0-0', 0, 0],
    ];
    for (const [range, start, end] of cases) {
      const { out, bytes } = await getBytes(key, range);
      expect(out.ContentRange, range).toBe(`bytes ${start}-${end}/${data.length}`);
      expect(bytes.equals(data.subarray(start, end + 1)), range).toBe(true);
    }
    const listed = await client.send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: key }));
    expect(listed.Contents?.map((o) => [o.Key, o.Size])).toEqual([[key, data.length]]);
    const all = await client.send(new ListObjectsV2Command({ Bucket: BUCKET }));
    expect(all.Contents?.every((o) => !o.Key?.includes('_S3rver_'))).toBe(true);
  });

  it('a restarted local S3 still serves a multipart object', async () => {
    const { key, data } = await multipartObject('restart');
    const second = await startLocalS3({ directory: dir, bucket: BUCKET });
    const other = makeClient(second.endpoint, 'WHEN_REQUIRED');
    try {
      const out = await other.send(new GetObjectCommand({ Bucket: BUCKET, Key: key, Range: `bytes=${PART - 3}-${PART + 2}` }));
      expect(Buffer.from(await (out.Body as NonNullable<typeof out.Body>).transformToByteArray())).toEqual(
        data.subarray(PART - 3, PART + 3),
      );
    } finally {
      other.destroy();
      await second.close();
    }
  });

  it('an object file opened just before it was replaced is never read as plain bytes (the zeros of a sparse file)', async () => {
    const { key } = await multipartObject('replaced-while-open');
    const store = freshStore();
    const fh = await open(objectFile(key), 'r');
    try {
      // replaced (and its parts released) between the reader's open and its look-up
      await client.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: 'replaced' }));
      expect(await store.getObjectParts(BUCKET, fh, await fh.stat({ bigint: true }))).toBeUndefined();
    } finally {
      await fh.close();
    }
    const chunks: Buffer[] = [];
    for await (const chunk of await store.readObjectFile(BUCKET, objectFile(key), {})) chunks.push(chunk as Buffer);
    expect(Buffer.concat(chunks).toString()).toBe('replaced');
  });

  it('PutObject over a multipart object serves the new bytes and removes the old parts', async () => {
    const { key } = await multipartObject('overwrite');
    const before = await partSets();
    await client.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: 'replaced' }));
    expect((await getBytes(key)).bytes.toString()).toBe('replaced');
    const after = await partSets();
    expect(after.length).toBe(before.length - 1);
  });

  it('a multipart object replaced by another keeps only the newer parts', async () => {
    const first = await multipartObject('mp-over-mp');
    const sets = (await partSets()).length;
    const uploadId = await createUpload(first.key);
    const b = randomBytes(PART + 3);
    await complete(first.key, uploadId, [await uploadPart(first.key, uploadId, 1, b)]);
    expect((await getBytes(first.key)).bytes.equals(b)).toBe(true);
    expect((await partSets()).length).toBe(sets);
  });

  it('DeleteObject of a multipart object removes its parts', async () => {
    const { key } = await multipartObject('delete');
    const before = await partSets();
    await client.send(new DeleteObjectCommand({ Bucket: BUCKET, Key: key }));
    await expect(getBytes(key)).rejects.toMatchObject({ name: 'NoSuchKey' });
    expect((await partSets()).length).toBe(before.length - 1);
  });

  it('CopyObject copies the bytes of a multipart object, and over one replaces it', async () => {
    const { key, data } = await multipartObject('copy-src');
    const dest = newKey('copy-dest');
    await client.send(new CopyObjectCommand({ Bucket: BUCKET, Key: dest, CopySource: `${BUCKET}/${key}` }));
    expect((await getBytes(dest)).bytes.equals(data)).toBe(true);
    // a plain object copied onto a multipart one: its bytes, not the old parts
    const plain = newKey('copy-plain');
    await client.send(new PutObjectCommand({ Bucket: BUCKET, Key: plain, Body: 'plain bytes' }));
    const sets = (await partSets()).length;
    await client.send(new CopyObjectCommand({ Bucket: BUCKET, Key: key, CopySource: `${BUCKET}/${plain}` }));
    expect((await getBytes(key)).bytes.toString()).toBe('plain bytes');
    expect((await partSets()).length).toBe(sets - 1);
  });

  it('a GET still reading a multipart object when it is deleted or replaced gets the whole old object', async () => {
    const sets = (await partSets()).length;
    for (const change of ['delete', 'replace'] as const) {
      const { key, data } = await multipartObject(`read-during-${change}`);
      const body = await new Promise<Buffer>((resolve, reject) => {
        const req = request(`${s3.endpoint}/${BUCKET}/${key}`, (res) => {
          const chunks: Buffer[] = [];
          res.once('data', () => {
            res.pause(); // a slow reader: the first part is being read, the others not opened yet
            const op =
              change === 'delete'
                ? new DeleteObjectCommand({ Bucket: BUCKET, Key: key })
                : new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: 'replaced' });
            client.send(op).then(() => res.resume(), reject);
          });
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => resolve(Buffer.concat(chunks)));
          res.on('error', reject);
        });
        req.on('error', reject);
        req.end();
      });
      expect(body.equals(data), change).toBe(true);
    }
    // and the old parts went once the reads ended
    await expect.poll(async () => (await partSets()).length).toBe(sets);
  });

  it('an abort racing a completion: one of them wins, and the object is whole or absent', async () => {
    for (let round = 0; round < 5; round++) {
      const key = newKey('abort-vs-complete');
      const uploadId = await createUpload(key);
      const b1 = randomBytes(PART);
      const b2 = randomBytes(50);
      const parts = [await uploadPart(key, uploadId, 1, b1), await uploadPart(key, uploadId, 2, b2)];
      const [completed, aborted] = await Promise.allSettled([
        complete(key, uploadId, parts),
        client.send(new AbortMultipartUploadCommand({ Bucket: BUCKET, Key: key, UploadId: uploadId })),
      ]);
      expect([completed.status, aborted.status].filter((s) => s === 'fulfilled')).toHaveLength(1);
      if (completed.status === 'fulfilled') expect((await getBytes(key)).bytes.equals(Buffer.concat([b1, b2]))).toBe(true);
      else await expect(getBytes(key)).rejects.toMatchObject({ name: 'NoSuchKey' });
    }
  });

  it('two completions listing different parts: the object is exactly one of the lists', async () => {
    const key = newKey('two-lists');
    const uploadId = await createUpload(key);
    const bodies = [randomBytes(PART), randomBytes(PART), randomBytes(10)];
    const [p1, p2, p3] = [
      await uploadPart(key, uploadId, 1, bodies[0] as Buffer),
      await uploadPart(key, uploadId, 2, bodies[1] as Buffer),
      await uploadPart(key, uploadId, 3, bodies[2] as Buffer),
    ];
    const results = await Promise.allSettled([complete(key, uploadId, [p1!, p2!]), complete(key, uploadId, [p1!, p3!])]);
    const winner = results.findIndex((r) => r.status === 'fulfilled');
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    const expected = winner === 0 ? Buffer.concat([bodies[0]!, bodies[1]!]) : Buffer.concat([bodies[0]!, bodies[2]!]);
    expect((await getBytes(key)).bytes.equals(expected)).toBe(true);
  });

  it('a multipart object whose parts were lost (a data directory copied without them) is an error, never zeros', async () => {
    const { key } = await multipartObject('lost-parts');
    const identity = LocalS3Store.fileIdentity(await stat(objectFile(key), { bigint: true }));
    await rm(path.join(dir, BUCKET, '._S3rver_multipart', identity), { recursive: true });
    await expect(freshStore().readObjectFile(BUCKET, objectFile(key), {})).rejects.toThrow(/parts are lost/);
  });

  it('finds parts recorded under the former inode-and-birth-time name, and moves them under the current one', async () => {
    const { key, data } = await multipartObject('legacy-identity');
    const st = await stat(objectFile(key), { bigint: true });
    const multipart = path.join(dir, BUCKET, '._S3rver_multipart');
    const current = path.join(multipart, LocalS3Store.fileIdentity(st));
    const legacy = path.join(multipart, `${st.ino}-${st.birthtimeNs}`);
    await rename(current, legacy);
    const chunks: Buffer[] = [];
    for await (const chunk of await freshStore().readObjectFile(BUCKET, objectFile(key), {})) chunks.push(chunk as Buffer);
    expect(Buffer.concat(chunks).equals(data)).toBe(true);
    expect((await readdir(multipart)).filter((d) => d === path.basename(current) || d === path.basename(legacy))).toEqual([
      path.basename(current),
    ]);
  });

  it('two completions of one upload at once: one object, the other answer NoSuchUpload', async () => {
    const key = newKey('double-complete');
    const uploadId = await createUpload(key);
    const b1 = randomBytes(PART);
    const b2 = randomBytes(99);
    const parts = [await uploadPart(key, uploadId, 1, b1), await uploadPart(key, uploadId, 2, b2)];
    const results = await Promise.allSettled([complete(key, uploadId, parts), complete(key, uploadId, parts)]);
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    const refused = results.find((r) => r.status === 'rejected');
    expect(refused?.reason).toMatchObject({ name: 'NoSuchUpload', $metadata: { httpStatusCode: 404 } });
    expect((await getBytes(key)).bytes.equals(Buffer.concat([b1, b2]))).toBe(true);
    expect((await filesOnDisk()).filter((f) => f.endsWith('.tmp'))).toEqual([]);
  });
});

describe('rclone, a client written in Go', () => {
  const exec = promisify(execFile);
  /** rclone's remote "local:", configured from the environment alone; it refuses an endpoint while AWS_CA_BUNDLE is set. */
  const rclone = (...args: string[]) => {
    const { AWS_CA_BUNDLE: _bundle, ...env } = process.env;
    return exec('rclone', ['--retries', '1', '--s3-no-check-bucket', ...args], {
      env: {
        ...env,
        RCLONE_CONFIG_LOCAL_TYPE: 's3',
        RCLONE_CONFIG_LOCAL_PROVIDER: 'Other',
        RCLONE_CONFIG_LOCAL_ENDPOINT: s3.endpoint,
        RCLONE_CONFIG_LOCAL_ACCESS_KEY_ID: 'S3RVER',
        RCLONE_CONFIG_LOCAL_SECRET_ACCESS_KEY: 'S3RVER',
        RCLONE_CONFIG_LOCAL_FORCE_PATH_STYLE: 'true',
      },
    });
  };

  it('uploads in parts (its XML writes the ETags\u2019 quotes as &#34;) and downloads the same bytes', async () => {
    const data = randomBytes(2 * PART + 12345);
    const file = path.join(dir, 'rclone-source.bin');
    await writeFile(file, data);
    await rclone('copyto', '--s3-upload-cutoff', '5M', '--s3-chunk-size', '5M', file, `local:${BUCKET}/rclone/object.bin`);
    const head = await client.send(new HeadObjectCommand({ Bucket: BUCKET, Key: 'rclone/object.bin' }));
    expect(head.ETag).toMatch(/-3"$/);
    const back = path.join(dir, 'rclone-back.bin');
    await rclone('copyto', '--multi-thread-streams', '2', '--multi-thread-cutoff', '5M', `local:${BUCKET}/rclone/object.bin`, back);
    expect(
      createHash('sha1')
        .update(await readFile(back))
        .digest('hex'),
    ).toBe(createHash('sha1').update(data).digest('hex'));
  });
});
