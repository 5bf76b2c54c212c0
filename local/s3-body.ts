/**
 * The body of a PutObject / UploadPart request as S3 reads it, and the headers
 * to keep as object metadata.
 * - The AWS SDK v3 sends stream bodies with `Content-Encoding: aws-chunked`
 *   (chunk framing plus a trailing x-amz-checksum-crc32); s3rver 3.7.1 stores
 *   the framing as the object's bytes. It is decoded here, and "aws-chunked"
 *   is not kept as the object's Content-Encoding.
 * - S3 rejects a body whose CRC32 differs from the x-amz-checksum-crc32 given
 *   in a header, a trailer or a presigned URL's query (BadDigest): e.g. a part
 *   URL presigned by a client without requestChecksumCalculation
 *   'WHEN_REQUIRED' carries the CRC32 of an empty body. (s3rver's signature
 *   middleware has copied a presigned query's x-amz-* values into the headers.)
 */
import type { Readable } from 'node:stream';
import { pipeline, Transform, type TransformCallback } from 'node:stream';
import { crc32 } from 'node:zlib';
import { S3Error, type S3Context } from './s3rver-modules.js';

const header = (ctx: S3Context, name: string): string | undefined => {
  const value = ctx.headers[name];
  return Array.isArray(value) ? value.join(',') : value;
};

export function requestBody(ctx: S3Context): { body: Readable; headers: S3Context['headers'] } {
  const encodings = (header(ctx, 'content-encoding') ?? '')
    .split(',')
    .map((encoding) => encoding.trim())
    .filter(Boolean);
  const chunked = encodings.includes('aws-chunked') || /^STREAMING-/.test(header(ctx, 'x-amz-content-sha256') ?? '');
  const headers = { ...ctx.headers };
  const otherEncodings = encodings.filter((e) => e !== 'aws-chunked');
  if (otherEncodings.length) headers['content-encoding'] = otherEncodings.join(',');
  else delete headers['content-encoding'];

  const decoder = chunked ? new AwsChunkedDecoder() : null;
  const declared = header(ctx, 'x-amz-checksum-crc32');
  const expectedCrc32 = (): string | undefined => declared ?? decoder?.trailers['x-amz-checksum-crc32'];
  // CRC32 only when one was declared (a header, or possibly an aws-chunked
  // trailer): it costs as much CPU as the rest of the request path.
  const verifier = chunked || declared ? new Crc32Verifier(expectedCrc32) : null;
  const stages: Transform[] = [];
  if (decoder) stages.push(decoder);
  if (verifier) stages.push(verifier);
  const last = stages.at(-1);
  if (!last) return { body: ctx.req, headers };
  // errors (such as the client going away) reach the last stage, read by the store
  pipeline([ctx.req, ...stages], () => {});
  return { body: last, headers };
}

type DecoderState = 'size' | 'data' | 'data-end' | 'trailer' | 'done';

/** Decodes `Content-Encoding: aws-chunked` and collects its trailers. */
class AwsChunkedDecoder extends Transform {
  readonly trailers: Record<string, string> = {};
  private buffer: Buffer = Buffer.alloc(0);
  private state: DecoderState = 'size'; // size -> data -> data-end -> size ... -> trailer -> done
  private remaining = 0;

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.buffer = this.buffer.length ? Buffer.concat([this.buffer, chunk]) : chunk;
    try {
      this.decode();
      callback();
    } catch (err) {
      callback(err as Error);
    }
  }

  private decode(): void {
    for (;;) {
      if (this.state === 'data') {
        if (!this.buffer.length) return;
        const n = Math.min(this.remaining, this.buffer.length);
        this.push(this.buffer.subarray(0, n));
        this.buffer = this.buffer.subarray(n);
        this.remaining -= n;
        if (this.remaining === 0) this.state = 'data-end';
        continue;
      }
      const eol = this.buffer.indexOf('\r\n');
      if (eol === -1) {
        if (this.buffer.length > 64 * 1024) throw malformed();
        return;
      }
      const line = this.buffer.subarray(0, eol).toString('latin1');
      this.buffer = this.buffer.subarray(eol + 2);
      if (this.state === 'size') {
        // "<hex size>[;chunk-signature=...]"
        const size = Number.parseInt(line.split(';')[0] ?? '', 16);
        if (!(size >= 0)) throw malformed();
        this.remaining = size;
        this.state = size ? 'data' : 'trailer';
      } else if (this.state === 'data-end') {
        if (line !== '') throw malformed();
        this.state = 'size';
      } else if (this.state === 'trailer') {
        if (line === '') {
          this.state = 'done';
        } else {
          const colon = line.indexOf(':');
          this.trailers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
        }
      }
    }
  }

  override _flush(callback: TransformCallback): void {
    callback(
      this.state === 'trailer' || this.state === 'done'
        ? null
        : new S3Error('IncompleteBody', 'You did not provide the number of bytes specified by the Content-Length HTTP header'),
    );
  }
}

const malformed = () => new S3Error('InvalidRequest', 'Malformed aws-chunked body');

/** Passes the bytes through; fails at the end on a CRC32 mismatch. */
class Crc32Verifier extends Transform {
  private crc = 0;

  constructor(private readonly expected: () => string | undefined) {
    super();
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.crc = crc32(chunk, this.crc);
    callback(null, chunk);
  }

  override _flush(callback: TransformCallback): void {
    const expected = this.expected();
    const actual = Buffer.alloc(4);
    actual.writeUInt32BE(this.crc >>> 0);
    if (expected && expected !== actual.toString('base64')) {
      callback(new S3Error('BadDigest', 'The CRC32 you specified did not match the calculated checksum.'));
      return;
    }
    callback();
  }
}
