/**
 * The local S3: s3rver 3.7.1 run in-process, as it ships, with a store and
 * object operations of our own (local/s3-store.ts, local/s3-operations.ts) so
 * that it speaks what the content lifecycle needs: ListParts,
 * AbortMultipartUpload, S3-like validation of CompleteMultipartUpload and
 * UploadPart, aws-chunked bodies and CRC32 checks, Range requests as S3 answers
 * them, and `ObjectCreated:CompleteMultipartUpload` events. As in S3, completing an upload does not rewrite its bytes: the object
 * keeps its part files and reads stream across them, so a 50 GB image neither
 * waits for nor needs room for a second copy. The md5 of stored bytes (their
 * ETag) is computed on a worker thread, off the thread that serves requests.
 *
 * s3rver does not verify SigV4 signatures (only a presigned URL's expiry), so any
 * credentials work; the SDK's conventional local pair is S3RVER / S3RVER.
 */
import { mkdir } from 'node:fs/promises';
import type { S3Event } from 'aws-lambda';
import { localS3Operations } from './s3-operations.js';
import { LocalS3Store } from './s3-store.js';
import { S3rver, type S3rverInstance, type S3rverOptions } from './s3rver-modules.js';

/**
 * What the local S3 emits: a whole S3 notification, `{Records: [record]}`, shaped
 * like the event a Lambda receives from S3. (For `ObjectRemoved:*` records S3 sends
 * no `size` nor `eTag`, though the `aws-lambda` type declares them.)
 */
export type S3EventRecordLike = S3Event;

export interface StartLocalS3Options {
  /** Directory that holds the buckets (created if missing). */
  directory: string;
  /** TCP port on 127.0.0.1; 0 or absent picks a free port. */
  port?: number;
  /** Bucket created at start when missing. */
  bucket: string;
  /** Called for every S3 event s3rver emits (object created / removed). */
  onEvent?: (event: S3EventRecordLike) => void;
}

export interface LocalS3 {
  /** `http://127.0.0.1:<port>`: use as the S3 client endpoint (path-style). */
  endpoint: string;
  port: number;
  close(): Promise<void>;
}

/**
 * s3rver with the local S3's store and operations: the store replaces
 * s3rver's own (same directory layout), and the operations' middleware goes
 * right before s3rver's router (@koa/router's dispatch, which carries its
 * `router`), the last middleware s3rver installs.
 */
function createS3rver(options: S3rverOptions): S3rverInstance {
  const server = new S3rver(options);
  const store = new LocalS3Store(options.directory);
  server.store = server.context.store = store;
  const routerAt = server.middleware.findIndex((fn) => 'router' in fn);
  if (routerAt === -1) throw new Error("s3rver's router was not found among its middleware");
  server.middleware.splice(routerAt, 0, localS3Operations(store) as (typeof server.middleware)[number]);
  return server;
}

/**
 * The console PUTs parts and GETs content straight from the browser, from the
 * gateway's origin (another port): as the deployed bucket's CORS rule, but for
 * any origin, since the local gateway's port and host name vary. ETag must be
 * readable to complete a multipart upload.
 */
const BROWSER_CORS = `<CORSConfiguration><CORSRule>
<AllowedOrigin>*</AllowedOrigin><AllowedMethod>GET</AllowedMethod><AllowedMethod>PUT</AllowedMethod><AllowedMethod>HEAD</AllowedMethod>
<AllowedHeader>*</AllowedHeader><ExposeHeader>ETag</ExposeHeader><MaxAgeSeconds>3600</MaxAgeSeconds>
</CORSRule></CORSConfiguration>`;

export async function startLocalS3(opts: StartLocalS3Options): Promise<LocalS3> {
  await mkdir(opts.directory, { recursive: true });
  const server = createS3rver({
    address: '127.0.0.1',
    port: opts.port ?? 0,
    directory: opts.directory,
    silent: true,
    // s3rver creates the bucket when missing and keeps its objects when present.
    configureBuckets: [{ name: opts.bucket, configs: [BROWSER_CORS] }],
    vhostBuckets: false,
  });

  const { onEvent } = opts;
  if (onEvent) {
    server.on('event', (event) => {
      // A failing consumer must not break the S3 request that triggered the event:
      // s3rver emits synchronously from inside its request handler.
      try {
        onEvent(withBucketArn(event as S3EventRecordLike));
      } catch (err) {
        process.emitWarning(`local S3 event consumer failed: ${String(err)}`);
      }
    });
  }

  const address = await server.run();
  const port = address.port;
  let closed: Promise<void> | undefined;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    port,
    close() {
      closed ??= server.close();
      return closed;
    },
  };
}

/** s3rver's own events (ObjectRemoved:Delete, ObjectCreated:Copy) name the bucket `arn:aws:s3: : :<bucket>`; S3's ARN has no spaces. */
function withBucketArn(event: S3EventRecordLike): S3EventRecordLike {
  for (const record of event.Records) record.s3.bucket.arn = `arn:aws:s3:::${record.s3.bucket.name}`;
  return event;
}
