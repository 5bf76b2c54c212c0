import { Agent as HttpAgent } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import { GetObjectCommand, HeadObjectCommand, S3Client, type S3ClientConfig } from '@aws-sdk/client-s3';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { config } from '../config.js';
import { sdkTimeouts } from '../request-handler.js';
import { RangeLengthError } from './errors.js';
import { hashRanges, type FetchRange, type HashRangesOptions, type HashResult } from './parallel-hash.js';

export interface S3RangeFetcherOptions {
  client: S3Client;
  bucket: string;
  key: string;
  /** Pins every range to one object version: a replaced object fails the hash instead of mixing bytes. */
  ifMatch?: string;
  versionId?: string;
}

/** A FetchRange over ranged GetObject calls; each response must carry exactly the bytes asked for. */
export function s3RangeFetcher({ client, bucket, key, ifMatch, versionId }: S3RangeFetcherOptions): FetchRange {
  return async (start, end, signal) => {
    const expected = end - start + 1;
    const out = await client.send(
      new GetObjectCommand({
        Bucket: bucket,
        Key: key,
        Range: `bytes=${start}-${end}`,
        IfMatch: ifMatch,
        VersionId: versionId,
      }),
      { abortSignal: signal },
    );
    const body: unknown = out.Body;
    if (!isNodeBody(body)) {
      throw new Error(`GetObject bytes=${start}-${end} of s3://${bucket}/${key} returned no readable body`);
    }
    // A server that ignores Range answers 200 with the whole object: caught here before any byte is read.
    if (out.ContentLength !== expected) {
      body.destroy();
      throw new RangeLengthError(start, end, expected, out.ContentLength ?? 0);
    }
    // The hasher counts the bytes that actually arrive, so a body cut short is caught too.
    return body;
  };
}

interface NodeBody extends AsyncIterable<Uint8Array> {
  destroy(): void;
}

function isNodeBody(body: unknown): body is NodeBody {
  return (
    typeof body === 'object' &&
    body !== null &&
    Symbol.asyncIterator in body &&
    typeof (body as { destroy?: unknown }).destroy === 'function'
  );
}

/**
 * Whether an S3 failure can succeed on retry. Client errors (missing key,
 * access denied, a changed object failing If-Match) will not; throttling,
 * timeouts, 5xx, resets and short bodies may.
 */
export function isRetryableS3Error(error: unknown): boolean {
  const status = (error as { $metadata?: { httpStatusCode?: number } } | null)?.$metadata?.httpStatusCode;
  if (status === undefined) return true;
  return status === 408 || status === 429 || status >= 500;
}

export interface HashingS3ClientOptions {
  /** Parallel ranges the client must carry at once. */
  concurrency: number;
  config?: S3ClientConfig;
}

/**
 * An S3 client sized for the hasher: enough keep-alive sockets for every range
 * plus headroom for the handler's own calls (HEAD, DELETE) on the same client,
 * and no response checksum validation (a CRC over every byte in JS would cost
 * more than the sha1 the hasher computes anyway; ranged GETs carry no
 * full-object checksum to check). Its timeouts are every SDK client's
 * (request-handler.ts) but the idle time, the hasher's read timeout.
 */
export function createHashingS3Client({ concurrency, config: clientConfig }: HashingS3ClientOptions): S3Client {
  const maxSockets = concurrency + 2;
  return new S3Client({
    responseChecksumValidation: 'WHEN_REQUIRED',
    ...clientConfig,
    requestHandler: new NodeHttpHandler({
      httpAgent: new HttpAgent({ keepAlive: true, maxSockets }),
      httpsAgent: new HttpsAgent({ keepAlive: true, maxSockets }),
      ...sdkTimeouts(config.hasherReadTimeoutMs),
    }),
  });
}

export interface HashS3ObjectOptions extends Omit<HashRangesOptions, 'size' | 'fetchRange'> {
  client: S3Client;
  bucket: string;
  key: string;
  /** From the S3 event; when absent (or no etag), a HeadObject finds it. */
  size?: number;
  etag?: string;
  versionId?: string;
}

export interface HashS3ObjectResult extends HashResult {
  etag: string | undefined;
  /** Only known when HeadObject was called. */
  lastModified: Date | undefined;
}

/** sha1 and size of one S3 object, every range pinned to the same ETag. */
export async function hashS3Object(options: HashS3ObjectOptions): Promise<HashS3ObjectResult> {
  const { client, bucket, key, versionId, size: knownSize, etag: knownEtag, ...hashOptions } = options;
  let size = knownSize;
  let etag = knownEtag;
  let lastModified: Date | undefined;
  if (size === undefined || etag === undefined) {
    const head = await client.send(new HeadObjectCommand({ Bucket: bucket, Key: key, VersionId: versionId, IfMatch: etag }), {
      abortSignal: options.signal,
    });
    if (head.ContentLength === undefined) throw new Error(`HeadObject s3://${bucket}/${key} gave no ContentLength`);
    size = head.ContentLength;
    etag = head.ETag;
    lastModified = head.LastModified;
  }
  const result = await hashRanges({
    isRetryable: isRetryableS3Error,
    ...hashOptions,
    size,
    fetchRange: s3RangeFetcher({ client, bucket, key, ifMatch: etag, versionId }),
  });
  return { ...result, etag, lastModified };
}
