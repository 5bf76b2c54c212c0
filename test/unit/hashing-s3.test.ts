import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { GetObjectCommand, PutObjectCommand, S3Client, type GetObjectCommandOutput } from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { localS3Client, startS3rver, type LocalS3 } from '../../bench/lib/local-s3.js';
import {
  createHashingS3Client,
  hashRanges,
  hashS3Object,
  isRetryableS3Error,
  RangeFetchError,
  RangeLengthError,
  s3RangeFetcher,
} from '../../functions/core/hashing/index.js';
import { contentKey } from '../../functions/core/db/schema.js';

const BUCKET = 'b';
const KEY = contentKey('twenty-mb');
const data = randomBytes(20 * 1000 * 1000 + 17);
const expectedSha1 = createHash('sha1').update(data).digest('hex');

describe('hashing against a local S3 (s3rver)', () => {
  let directory: string;
  let s3: LocalS3;
  let client: S3Client;
  let etag: string | undefined;

  beforeAll(async () => {
    directory = await mkdtemp(join(tmpdir(), 'hashing-s3-'));
    s3 = await startS3rver(directory, BUCKET);
    const put = await localS3Client(s3.endpoint).send(new PutObjectCommand({ Bucket: BUCKET, Key: KEY, Body: data }));
    etag = put.ETag;
    client = createHashingS3Client({
      concurrency: 6,
      config: {
        endpoint: s3.endpoint,
        region: 'us-east-1',
        forcePathStyle: true,
        credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
      },
    });
  });

  afterAll(async () => {
    client?.destroy();
    await s3?.close();
    await rm(directory, { recursive: true, force: true });
  });

  it('hashes a 20 MB object with small parallel ranges', async () => {
    const result = await hashRanges({
      size: data.length,
      rangeSize: 1024 * 1024,
      concurrency: 6,
      fetchRange: s3RangeFetcher({ client, bucket: BUCKET, key: KEY, ifMatch: etag }),
    });
    expect(result.sha1).toBe(expectedSha1);
    expect(result.size).toBe(data.length);
    expect(result.stats.retries).toBe(0);
    expect(result.stats.maxBufferedBytes).toBeLessThanOrEqual(6 * 1024 * 1024);
  });

  it('finds size and ETag with HeadObject when the event does not give them', async () => {
    const result = await hashS3Object({ client, bucket: BUCKET, key: KEY, rangeSize: 3_000_000, concurrency: 4 });
    expect(result).toMatchObject({ sha1: expectedSha1, size: data.length, etag });
    expect(result.lastModified).toBeInstanceOf(Date);
  });

  it('fails without retrying when the object is missing', async () => {
    const error = await hashS3Object({
      client,
      bucket: BUCKET,
      key: contentKey('missing'),
      size: 10_000_000,
      etag: '"0"',
      rangeSize: 4_000_000,
      concurrency: 2,
      backoffMs: 1,
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RangeFetchError);
    expect(error).toMatchObject({ attempts: 1 });
  });

  it('rejects a size larger than the object (the last range comes back short)', async () => {
    const error = await hashRanges({
      size: data.length + 1000,
      rangeSize: 8_000_000,
      concurrency: 3,
      retries: 1,
      backoffMs: 1,
      fetchRange: s3RangeFetcher({ client, bucket: BUCKET, key: KEY }),
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RangeFetchError);
    expect((error as Error).message).toMatch(/short body for bytes=16000000-20001016: got 4000017 of 4001017 bytes/);
  });
});

// s3rver ignores If-Match, so what the fetcher sends is checked against a mocked client.
describe('s3RangeFetcher', () => {
  // Mock one instance: mocking the class would also capture the real clients above.
  const client = new S3Client({ region: 'us-east-1' });
  const s3 = mockClient(client);
  afterEach(() => s3.reset());
  afterAll(() => s3.restore());
  const body = (bytes: Buffer) => Readable.from([bytes]) as unknown as GetObjectCommandOutput['Body'];

  it('asks for the range pinned to the ETag and returns the body', async () => {
    s3.on(GetObjectCommand).resolves({ Body: body(Buffer.from('abcd')), ContentLength: 4 });
    const fetchRange = s3RangeFetcher({ client, bucket: 'b', key: 'k', ifMatch: '"e"' });
    const got: Uint8Array[] = [];
    for await (const chunk of await fetchRange(10, 13, new AbortController().signal)) got.push(chunk);
    expect(Buffer.concat(got).toString()).toBe('abcd');
    expect(s3).toHaveReceivedCommandWith(GetObjectCommand, { Bucket: 'b', Key: 'k', Range: 'bytes=10-13', IfMatch: '"e"' });
  });

  it('refuses a response whose length is not the range asked for', async () => {
    s3.on(GetObjectCommand).resolves({ Body: body(Buffer.alloc(100)), ContentLength: 100 });
    const fetchRange = s3RangeFetcher({ client, bucket: 'b', key: 'k' });
    await expect(Promise.resolve(fetchRange(0, 9, new AbortController().signal))).rejects.toBeInstanceOf(RangeLengthError);
  });

  it('tells permanent S3 errors from transient ones', () => {
    const withStatus = (httpStatusCode: number) => Object.assign(new Error('x'), { $metadata: { httpStatusCode } });
    expect(isRetryableS3Error(withStatus(404))).toBe(false);
    expect(isRetryableS3Error(withStatus(412))).toBe(false);
    expect(isRetryableS3Error(withStatus(503))).toBe(true);
    expect(isRetryableS3Error(withStatus(429))).toBe(true);
    expect(isRetryableS3Error(new Error('socket hang up'))).toBe(true);
  });
});
