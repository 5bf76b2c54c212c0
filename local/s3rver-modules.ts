/**
 * The parts of s3rver 3.7.1 (untyped CommonJS) that the local S3 builds on,
 * typed here once: the Koa application, its filesystem store (subclassed by
 * local/s3-store.ts), its error and object models, and the middleware that
 * checks request signatures and applies `response-*` overrides. They are used
 * as they ship; nothing of s3rver is modified.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import type { Readable } from 'node:stream';

const require = createRequire(import.meta.url);

/** Object metadata as s3rver keeps it: lower-case header names to values. */
export type Metadata = Record<string, string | number>;

/** The part of a Koa context the local S3's operations use. */
export interface S3Context {
  readonly method: string;
  readonly path: string;
  readonly href: string;
  readonly ip: string;
  readonly query: Record<string, string | string[] | undefined>;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly req: IncomingMessage;
  readonly res: ServerResponse;
  readonly app: { emit(event: string, payload: unknown): boolean; readonly store: unknown };
  readonly state: Record<string, unknown>;
  readonly logger: { info(...args: unknown[]): void; error(...args: unknown[]): void };
  params: Record<string, string>;
  status: number;
  body: unknown;
  length: number;
  etag: string;
  get(field: string): string;
  set(field: string, value: string): void;
}
export type Next = () => Promise<void>;
export type Middleware = (ctx: S3Context, next: Next) => Promise<void>;

export interface S3ErrorInstance extends Error {
  readonly code: string;
  readonly status: number;
}
export type S3ErrorConstructor = new (code: string, message?: string, detail?: Record<string, unknown>) => S3ErrorInstance;
/** An S3 error answered as S3's XML error document with its status (s3rver's onerror). */
export const S3Error = require('s3rver/lib/models/error') as S3ErrorConstructor;

export interface S3ObjectInstance {
  readonly bucket: string;
  readonly key: string;
  content: Readable | Buffer | null;
  readonly metadata: Metadata;
  range?: { start: number; end: number };
  readonly size: number;
  readonly lastModifiedDate: Date;
}
export interface S3ObjectConstructor {
  /** Keeps the metadata S3 stores (content-*, x-amz-meta-*...) of `metadata`; checks the storage class. */
  new (bucket: string, key: string, content: Readable | Buffer | null, metadata: Metadata | S3Context['headers']): S3ObjectInstance;
  readonly ALLOWED_METADATA: readonly string[];
}
export const S3Object = require('s3rver/lib/models/object') as S3ObjectConstructor;

export interface S3BucketInstance {
  readonly name: string;
}

/** s3rver's FilesystemStore, as far as local/s3-store.ts overrides and uses it. */
export interface FilesystemStoreInstance {
  readonly rootDirectory: string;
  getBucketPath(bucket: string): string;
  getResourcePath(bucket: string, key: string | undefined, resource: string): string;
  getBucket(bucket: string): Promise<S3BucketInstance | null>;
}
export interface FilesystemStoreConstructor {
  new (rootDirectory: string): FilesystemStoreInstance;
  encodeKeyPath(key: string): string;
  decodeKeyPath(keyPath: string): string;
}
export const FilesystemStore = require('s3rver/lib/stores/filesystem') as FilesystemStoreConstructor;

export interface S3rverOptions {
  address: string;
  port: number;
  directory: string;
  silent: boolean;
  configureBuckets: { name: string; configs?: string[] }[];
  /** Off: with a host name that is not an IP, s3rver would take it as a bucket. */
  vhostBuckets: boolean;
}
/** The Koa application s3rver is. */
export interface S3rverInstance {
  store: unknown;
  readonly context: { store: unknown };
  /** Koa's middleware stack, in order; s3rver's router is the last. */
  readonly middleware: ((ctx: never, next: Next) => unknown)[];
  run(): Promise<AddressInfo>;
  close(): Promise<void>;
  on(event: 'event', listener: (event: unknown) => void): this;
  emit(event: string, payload: unknown): boolean;
}
export const S3rver = require('s3rver') as new (options: S3rverOptions) => S3rverInstance;

/** S3's CORS for object requests from the bucket's CORS rules: answers OPTIONS preflights, adds Access-Control-* to the rest. */
export const cors = require('s3rver/lib/middleware/cors') as () => Middleware;
/** Verifies a request's signature or presigned query (expiry included); copies `x-amz-*` query values into its headers. */
export const authentication = require('s3rver/lib/middleware/authentication') as () => Middleware;
/** Applies a GET's `response-content-type` (etc.) query parameters to its response headers. */
export const responseHeaderOverride = require('s3rver/lib/middleware/response-header-override') as () => Middleware;
/** `content-type` -> `Content-Type`, `etag` -> `ETag`. */
export const { capitalizeHeader } = require('s3rver/lib/utils') as { capitalizeHeader(header: string): string };
/** The query parameters that name a sub-resource operation on an object (`uploadId`, `acl`, ...). */
export const OBJECT_QUERY_METHODS: readonly string[] = [
  ...new Set([
    ...(require('s3rver/lib/controllers/bucket') as { METHODS: string[] }).METHODS,
    ...(require('s3rver/lib/controllers/object') as { METHODS: string[] }).METHODS,
  ]),
];
