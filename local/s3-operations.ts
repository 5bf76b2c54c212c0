/**
 * The object operations the local S3 answers itself, as S3 does, in a Koa
 * middleware placed before s3rver's router; every other request goes on to
 * s3rver. Requests here pass s3rver's own signature check first (expired
 * presigned URLs are refused alike), then:
 *
 * - PutObject and UploadPart read the body as S3 does (s3-body.ts: aws-chunked
 *   decoding, CRC32 checks); UploadPart checks the part number and that the
 *   upload exists under that key.
 * - GetObject / HeadObject serve suffix ranges (`bytes=-N`), `bytes=0-0`, 416
 *   on an empty object, the bytes of multipart objects, and reset the
 *   connection when a body fails after its headers went out.
 * - ListParts and AbortMultipartUpload (which s3rver 3.7.1 lacks).
 * - CompleteMultipartUpload validates the part list as S3 does, completes
 *   without copying the parts (s3-store.ts), answers S3's multipart ETag and
 *   emits `ObjectCreated:CompleteMultipartUpload`.
 */
import { createHash, randomBytes } from 'node:crypto';
import type { Readable } from 'node:stream';
import type { S3Event } from 'aws-lambda';
import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { requestBody } from './s3-body.js';
import type { ByteRange, LocalS3Store } from './s3-store.js';
import {
  authentication,
  cors,
  capitalizeHeader,
  type Middleware,
  OBJECT_QUERY_METHODS,
  responseHeaderOverride,
  type S3Context,
  S3Error,
  S3Object,
} from './s3rver-modules.js';

/** S3's minimum size of every part of a multipart upload but the last. */
const MIN_PART_SIZE = 5 * 1024 * 1024;
const OWNER = { ID: '123456789000', DisplayName: 'S3rver' };

type Operation = (ctx: S3Context, store: LocalS3Store) => Promise<void>;

const query = (ctx: S3Context, name: string): string | undefined => {
  const value = ctx.query[name];
  return Array.isArray(value) ? value[0] : value;
};
const header = (ctx: S3Context, name: string): string | undefined => {
  const value = ctx.headers[name];
  return Array.isArray(value) ? value[0] : value;
};

/** The operation of a path-style object request that is ours, or undefined (s3rver's). */
function operationOf(ctx: S3Context): Operation | undefined {
  const subresources = OBJECT_QUERY_METHODS.filter((method) => method in ctx.query);
  if (subresources.length === 0) {
    if (ctx.method === 'GET' || ctx.method === 'HEAD') return getObject;
    if (ctx.method === 'PUT' && !('x-amz-copy-source' in ctx.headers)) return putObject;
    return undefined;
  }
  if (subresources.length > 1 || subresources[0] !== 'uploadId') return undefined;
  switch (ctx.method) {
    case 'PUT':
      return 'x-amz-copy-source' in ctx.headers ? undefined : uploadPart;
    case 'GET':
      return listParts;
    case 'DELETE':
      return abortMultipartUpload;
    case 'POST':
      return completeMultipartUpload;
    default:
      return undefined;
  }
}

/** Koa middleware for s3rver (path-style buckets) answering the operations above from `store`. */
export function localS3Operations(store: LocalS3Store): Middleware {
  const corsHeaders = cors();
  const authenticate = authentication();
  const overrideResponseHeaders = responseHeaderOverride();
  return async (ctx, next) => {
    const match = /^\/([^/]+)\/(.+)$/.exec(ctx.path);
    const operation = match ? operationOf(ctx) : undefined;
    if (!match || !operation) return next();
    let bucket: string;
    let key: string;
    try {
      bucket = decodeURIComponent(match[1] as string);
      key = decodeURIComponent(match[2] as string);
    } catch {
      return next(); // not a path s3rver's router would decode either
    }
    ctx.params = { bucket, key };
    // As s3rver's router does for the operations it answers: CORS first (a browser reads
    // the ETag of each part it PUTs through a presigned URL), then the signature.
    await corsHeaders(ctx, () =>
      authenticate(ctx, async () => {
        if (!(await store.getBucket(bucket))) {
          throw new S3Error('NoSuchBucket', 'The specified bucket does not exist', { BucketName: bucket });
        }
        if (operation === getObject) await overrideResponseHeaders(ctx, () => operation(ctx, store));
        else await operation(ctx, store);
      }),
    );
  };
}

function noSuchUpload(ctx: S3Context): Error {
  return new S3Error(
    'NoSuchUpload',
    'The specified upload does not exist. The upload ID may be invalid, or the upload may have been aborted or completed.',
    { UploadId: query(ctx, 'uploadId') },
  );
}

/** S3 answers NoSuchUpload for an unknown (aborted, completed) upload id, and for a known one addressed under another key. */
async function getUploadOrThrow(ctx: S3Context, store: LocalS3Store) {
  const upload = await store.getUpload(ctx.params.bucket as string, query(ctx, 'uploadId') ?? '');
  if (!upload || upload.key !== ctx.params.key) throw noSuchUpload(ctx);
  return upload;
}

/** An S3 notification of one record, as S3 sends it to a Lambda. */
function emitEvent(ctx: S3Context, eventName: string, object: { size: number; eTag: string }): void {
  const event: S3Event = {
    Records: [
      {
        eventVersion: '2.0',
        eventSource: 'aws:s3',
        awsRegion: 'us-east-1',
        eventTime: new Date().toISOString(),
        eventName,
        userIdentity: { principalId: `AWS:${randomBytes(11).toString('hex').toUpperCase()}` },
        requestParameters: { sourceIPAddress: ctx.ip },
        responseElements: {
          'x-amz-request-id': randomBytes(8).toString('hex').toUpperCase(),
          'x-amz-id-2': createHash('sha256')
            .update(header(ctx, 'host') ?? '')
            .digest('base64'),
        },
        s3: {
          s3SchemaVersion: '1.0',
          configurationId: 'testConfigId',
          bucket: {
            name: ctx.params.bucket as string,
            ownerIdentity: { principalId: randomBytes(7).toString('hex').toUpperCase() },
            arn: `arn:aws:s3:::${ctx.params.bucket}`,
          },
          object: {
            key: ctx.params.key as string,
            size: object.size,
            eTag: object.eTag,
            sequencer: Date.now().toString(16).toUpperCase(),
          },
        },
      },
    ],
  };
  ctx.app.emit('event', event);
}

async function putObject(ctx: S3Context, store: LocalS3Store): Promise<void> {
  const { body, headers } = requestBody(ctx);
  const object = new S3Object(ctx.params.bucket as string, ctx.params.key as string, body, headers);
  const { md5, size } = await store.putObject(object);
  ctx.logger.info('Stored object "%s" in bucket "%s" successfully', object.key, object.bucket);
  emitEvent(ctx, 'ObjectCreated:Put', { size, eTag: md5 });
  ctx.etag = md5;
  ctx.body = '';
}

function parseRange(value: string | undefined): ByteRange {
  if (!value || !/^bytes=/.test(value)) return {};
  const [start = '', end = ''] = value.replace('bytes=', '').split('-');
  // "bytes=-N" is the last N bytes
  if (start === '' && end) return { suffixLength: Number(end) };
  return end ? { start: Number(start), end: Number(end) } : { start: Number(start) };
}

async function getObject(ctx: S3Context, store: LocalS3Store): Promise<void> {
  const object = await store.getObject(ctx.params.bucket as string, ctx.params.key as string, parseRange(header(ctx, 'range')));
  if (!object) throw new S3Error('NoSuchKey', 'The specified key does not exist.', { Key: ctx.params.key });
  if (object.range && !object.content) {
    throw new S3Error('InvalidRange', 'The requested range is not satisfiable', {
      RangeRequested: ctx.get('range'),
      ActualObjectSize: object.size,
    });
  }
  const content = object.content as Readable;
  const noneMatch = header(ctx, 'if-none-match');
  const modifiedSince = header(ctx, 'if-modified-since');
  if (
    (noneMatch && (noneMatch === object.metadata.etag || noneMatch === '*')) ||
    (modifiedSince !== undefined && new Date(modifiedSince) >= object.lastModifiedDate)
  ) {
    content.destroy(); // it holds the object file open
    ctx.status = 304;
    return;
  }
  ctx.set('Accept-Ranges', 'bytes');
  for (const [name, value] of Object.entries(object.metadata)) ctx.set(capitalizeHeader(name), String(value));
  if (object.range) {
    ctx.set('Content-Range', `bytes ${object.range.start}-${object.range.end}/${object.size}`);
    ctx.length = object.range.end + 1 - object.range.start;
    ctx.status = 206;
  } else {
    ctx.length = object.size;
    ctx.status = 200;
  }
  if (ctx.method === 'HEAD') {
    content.destroy();
    return;
  }
  // A body that fails once the headers are out cannot be answered with an
  // error any more: the connection is reset rather than left open forever,
  // waiting for bytes that will not come.
  content.once('error', () => ctx.req.socket.destroy());
  ctx.body = content;
}

async function uploadPart(ctx: S3Context, store: LocalS3Store): Promise<void> {
  // the part number names a file: checked before anything else
  const raw = query(ctx, 'partNumber');
  const partNumber = Number(raw);
  if (!Number.isInteger(partNumber) || partNumber < 1 || partNumber > 10000) {
    throw new S3Error('InvalidArgument', 'Part number must be an integer between 1 and 10000, inclusive', {
      ArgumentName: 'partNumber',
      ArgumentValue: raw,
    });
  }
  await getUploadOrThrow(ctx, store);
  const uploadId = query(ctx, 'uploadId') as string;
  const { md5 } = await store.putPart(ctx.params.bucket as string, uploadId, partNumber, requestBody(ctx).body).catch((err: unknown) => {
    // the upload was aborted or completed while the part came in
    throw (err as NodeJS.ErrnoException).code === 'ENOENT' ? noSuchUpload(ctx) : err;
  });
  ctx.logger.info('Stored part %s of %s in bucket "%s" successfully', partNumber, uploadId, ctx.params.bucket);
  ctx.etag = md5;
  ctx.body = '';
}

/** Lists the parts uploaded, ascending, at most max-parts (default and maximum 1,000) after part-number-marker. */
async function listParts(ctx: S3Context, store: LocalS3Store): Promise<void> {
  const upload = await getUploadOrThrow(ctx, store);
  const intParam = (name: string, defaultValue: number): number => {
    const raw = query(ctx, name);
    if (raw === undefined) return defaultValue;
    const value = Number(raw);
    if (!Number.isInteger(value) || value < 0) {
      throw new S3Error('InvalidArgument', `Provided ${name} not an integer or within integer range`, {
        ArgumentName: name,
        ArgumentValue: raw,
      });
    }
    return value;
  };
  const maxParts = Math.min(intParam('max-parts', 1000), 1000);
  const marker = intParam('part-number-marker', 0);
  const uploadId = query(ctx, 'uploadId') as string;
  const following = (await store.listParts(ctx.params.bucket as string, uploadId)).filter((part) => part.number > marker);
  const page = following.slice(0, maxParts);
  ctx.body = {
    ListPartsResult: {
      '@': { xmlns: 'http://s3.amazonaws.com/doc/2006-03-01/' },
      Bucket: ctx.params.bucket,
      Key: ctx.params.key,
      UploadId: uploadId,
      Initiator: OWNER,
      Owner: OWNER,
      StorageClass: upload.metadata['x-amz-storage-class'] ?? 'STANDARD',
      PartNumberMarker: marker,
      NextPartNumberMarker: page.length ? page[page.length - 1]?.number : marker,
      MaxParts: maxParts,
      IsTruncated: following.length > page.length,
      Part: page.map((part) => ({
        PartNumber: part.number,
        LastModified: part.lastModified.toISOString(),
        ETag: JSON.stringify(part.md5),
        Size: part.size,
      })),
    },
  };
}

/** Removes the upload and its parts: 204, or NoSuchUpload if unknown. */
async function abortMultipartUpload(ctx: S3Context, store: LocalS3Store): Promise<void> {
  await getUploadOrThrow(ctx, store);
  const uploadId = query(ctx, 'uploadId') as string;
  // completed or aborted by another request meanwhile
  if (!(await store.deleteUpload(ctx.params.bucket as string, uploadId))) throw noSuchUpload(ctx);
  ctx.logger.info('Aborted upload %s of "%s" in bucket "%s"', uploadId, ctx.params.key, ctx.params.bucket);
  ctx.status = 204;
}

const malformedXml = () =>
  new S3Error('MalformedXML', 'The XML you provided was not well-formed or did not validate against our published schema.');

/** Values stay strings: an unquoted ETag such as "1e5" must not become a number. */
// Character references are XML: Go's encoder (rclone, the AWS SDK for Go) writes an ETag's quotes as &#34;.
// fast-xml-parser decodes numeric references only with htmlEntities (which also takes HTML's named ones).
const xmlParser = new XMLParser({ parseTagValue: false, htmlEntities: true, isArray: (name) => name === 'Part' });

async function readText(stream: Readable): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

async function completeMultipartUpload(ctx: S3Context, store: LocalS3Store): Promise<void> {
  const xml = await readText(ctx.req);
  if (XMLValidator.validate(xml) !== true) throw malformedXml();
  const listed = (xmlParser.parse(xml) as { CompleteMultipartUpload?: { Part?: { PartNumber?: string; ETag?: string }[] } })
    .CompleteMultipartUpload?.Part;
  if (!listed?.length) throw malformedXml();
  const parts = listed.map((part) => ({
    number: Number(part.PartNumber),
    // S3 removes all double quotes when comparing etags
    etag: String(part.ETag ?? '').replace(/"/g, ''),
  }));
  const bucket = ctx.params.bucket as string;
  const uploadId = query(ctx, 'uploadId') as string;
  await getUploadOrThrow(ctx, store);
  for (let i = 1; i < parts.length; i++) {
    if (!((parts[i]?.number ?? 0) > (parts[i - 1]?.number ?? 0))) {
      throw new S3Error(
        'InvalidPartOrder',
        'The list of parts was not in ascending order. The parts list must be specified in order by part number.',
        { UploadId: uploadId },
      );
    }
  }
  const stored = new Map((await store.listParts(bucket, uploadId)).map((part) => [part.number, part]));
  // every listed part must exist with that ETag, then (only then) sizes count
  for (const part of parts) {
    if (stored.get(part.number)?.md5 !== part.etag) {
      throw new S3Error(
        'InvalidPart',
        "One or more of the specified parts could not be found.  The part may not have been uploaded, or the specified entity tag may not match the part's entity tag.",
        { UploadId: uploadId, PartNumber: part.number, ETag: part.etag },
      );
    }
  }
  for (const part of parts.slice(0, -1)) {
    const size = stored.get(part.number)?.size ?? 0;
    if (size < MIN_PART_SIZE) {
      throw new S3Error('EntityTooSmall', 'Your proposed upload is smaller than the minimum allowed size', {
        ProposedSize: size,
        MinSizeAllowed: MIN_PART_SIZE,
        PartNumber: part.number,
        ETag: part.etag,
      });
    }
  }
  // S3's multipart ETag: the md5 of the parts' binary md5s, "-<count>"
  const etag = `${createHash('md5')
    .update(Buffer.concat(parts.map((part) => Buffer.from(part.etag, 'hex'))))
    .digest('hex')}-${parts.length}`;
  const completed = await store.putObjectMultipart(bucket, uploadId, parts, etag);
  // completed or aborted by another request meanwhile
  if (!completed) throw noSuchUpload(ctx);
  ctx.logger.info('Stored object "%s" in bucket "%s" successfully', ctx.params.key, bucket);
  emitEvent(ctx, 'ObjectCreated:CompleteMultipartUpload', { size: completed.size, eTag: etag });
  ctx.body = {
    CompleteMultipartUploadResult: {
      Location: ctx.href.split('?')[0],
      Bucket: bucket,
      Key: ctx.params.key,
      ETag: JSON.stringify(etag),
    },
  };
}
