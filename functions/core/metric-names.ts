/**
 * Names of the metrics the functions publish (Powertools, namespace and
 * `service` dimension from functions/core/config.ts). The stack's alarms and
 * dashboard (infra/constructs/monitoring.ts) graph the same names, so this
 * module imports nothing.
 */
export const METRIC = {
  /** An API request answered with a 5xx envelope (functions/http/errors.ts). */
  serverErrors: 'ServerErrors',
  /** Bytes the hasher read and hashed, and how long that took. */
  hashedBytes: 'HashedBytes',
  hashTime: 'HashTime',
  /** An upload failed because hashing it did not fit in the hasher's run: not the client's fault. */
  hashDeadlineExceeded: 'HashDeadlineExceeded',
} as const;

/** The hasher counts each upload it processed under `Uploads_<outcome>`. */
export const UPLOAD_OUTCOMES = ['ready', 'failed', 'duplicate', 'unknown', 'continued', 'busy'] as const;
export type UploadOutcome = (typeof UPLOAD_OUTCOMES)[number];
export const uploadMetric = (outcome: UploadOutcome): string => `Uploads_${outcome}`;
