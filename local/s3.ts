/**
 * The local S3: s3rver 3.7.1 run in-process, patched (patches/s3rver+3.7.1.patch,
 * applied by `patch-package` on install) so that it speaks what the content
 * lifecycle needs: ListParts, AbortMultipartUpload, S3-like validation of
 * CompleteMultipartUpload and UploadPart, and `ObjectCreated:CompleteMultipartUpload`
 * events. As in S3, completing an upload does not rewrite its bytes: the object
 * keeps its part files and reads stream across them, so a 50 GB image neither
 * waits for nor needs room for a second copy. The md5 of stored bytes (their
 * ETag) is computed on a worker thread, off the thread that serves requests.
 *
 * s3rver does not verify signatures (SigV4 is accepted as is), so any credentials
 * work; the SDK's conventional local pair is S3RVER / S3RVER.
 */
import { mkdir } from 'node:fs/promises';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import type { S3Event } from 'aws-lambda';

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

/** The part of s3rver's (untyped, CommonJS) API used here. */
interface S3rverInstance {
  run(): Promise<AddressInfo>;
  close(): Promise<void>;
  on(event: 'event', listener: (event: S3EventRecordLike) => void): this;
}
interface S3rverOptions {
  address: string;
  port: number;
  directory: string;
  silent: boolean;
  configureBuckets: { name: string; configs?: string[] }[];
  /** Off: with a host name that is not an IP, s3rver would take it as a bucket. */
  vhostBuckets: boolean;
}
type S3rverConstructor = new (options: S3rverOptions) => S3rverInstance;

const require = createRequire(import.meta.url);

export async function startLocalS3(opts: StartLocalS3Options): Promise<LocalS3> {
  const S3rver = require('s3rver') as S3rverConstructor;
  await mkdir(opts.directory, { recursive: true });

  const server = new S3rver({
    address: '127.0.0.1',
    port: opts.port ?? 0,
    directory: opts.directory,
    silent: true,
    // s3rver creates the bucket when missing and keeps its objects when present.
    configureBuckets: [{ name: opts.bucket }],
    vhostBuckets: false,
  });

  const { onEvent } = opts;
  if (onEvent) {
    server.on('event', (event) => {
      // A failing consumer must not break the S3 request that triggered the event:
      // s3rver emits synchronously from inside its request handler.
      try {
        onEvent(event);
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
