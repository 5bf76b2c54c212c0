import { config } from '../config.js';

/**
 * Upload sessions. A session creates exactly one content file, so its id is
 * that file's uid and its object key is `content/<id>`: the hasher finds the
 * session from the key S3 reports.
 */
export type { UploadItem, UploadState } from '../db/schema.js';

/** How long a hashing session may go without a word before the sweeper re-drives it (stale.ts). */
export const quietLimitMs = (): number => (config.hasherTimeoutSeconds + config.redriveMarginSeconds) * 1000;

export const MIB = 1024 * 1024;
/** S3's multipart limits. */
export const MIN_PART_SIZE = 5 * MIB;
export const MAX_PART_SIZE = 5 * 1024 * MIB;
export const MAX_PARTS = 10_000;
export const MAX_OBJECT_SIZE = 5 * 1024 * 1024 * MIB;
/** Part URLs handed out per call: a client needs one call per this many parts. */
export const URLS_PER_CALL = 1000;
/** Bytes of part URLs per answer: half of Lambda's 6 MB response, leaving room for parts_done. */
export const URL_BYTES_PER_CALL = 3 * 1024 * 1024;

/** Epoch milliseconds that sort as strings the way they do as numbers. */
export const sortableMs = (ms: number): string => String(Math.floor(ms)).padStart(15, '0');

/** Sortable completion order: the time, then the upload id. */
export const completionOrder = (completedAtMs: number, id: string): string => `${sortableMs(completedAtMs)}#${id}`;

export function partCount(size: number, partSize: number): number {
  return Math.max(1, Math.ceil(size / partSize));
}
