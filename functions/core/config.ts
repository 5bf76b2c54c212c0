/**
 * Configuration, read from the environment once and on first use. A missing
 * required setting fails loudly with its name, never as an empty string that
 * surfaces later as a confusing SDK error.
 */
const cache = new Map<string, unknown>();

function once<T>(key: string, read: () => T): T {
  if (!cache.has(key)) cache.set(key, read());
  return cache.get(key) as T;
}

function required(name: string): string {
  const value = process.env[name];
  if (value === undefined || value.trim() === '') {
    throw new Error(`Configuration error: environment variable ${name} is not set`);
  }
  return value;
}

function optional(name: string, fallback: string): string {
  const value = process.env[name];
  return value === undefined || value.trim() === '' ? fallback : value;
}

function positiveInt(name: string, fallback: number): number {
  const raw = optional(name, String(fallback));
  const value = Number(raw);
  if (!Number.isSafeInteger(value) || value <= 0) {
    throw new Error(`Configuration error: ${name} must be a positive integer, got "${raw}"`);
  }
  return value;
}

export const config = {
  /**
   * Powertools' service name (log field, metric dimension). The stack sets it from its
   * `serviceName` context; the alarms and dashboard use the same value.
   */
  get serviceName(): string {
    return once('serviceName', () => optional('POWERTOOLS_SERVICE_NAME', 'image-service'));
  },
  /** CloudWatch namespace of our metrics; the stack sets it from its `metricsNamespace` context. */
  get metricsNamespace(): string {
    return once('metricsNamespace', () => optional('POWERTOOLS_METRICS_NAMESPACE', 'ImageService'));
  },
  /** The single DynamoDB table holding images, names, files and uploads. */
  get tableName(): string {
    return once('tableName', () => required('TABLE_NAME'));
  },
  /** The bucket holding content files under `content/`. */
  get bucketName(): string {
    return once('bucketName', () => required('BUCKET_NAME'));
  },
  /** Written to `last_modified_on`: the AWS region, or `local`. */
  get siteName(): string {
    return once('siteName', () => required('SITE_NAME'));
  },
  /** Members of this group (from the token's groups claim) may change images. */
  get adminGroup(): string {
    return once('adminGroup', () => optional('ADMIN_GROUP', 'admins'));
  },
  /** The JWT claim listing the caller's groups (`cognito:groups` for Cognito). */
  get groupsClaim(): string {
    return once('groupsClaim', () => optional('GROUPS_CLAIM', 'cognito:groups'));
  },
  /** The JWT claim naming the caller, written to `last_modified_by`. */
  get userClaim(): string {
    return once('userClaim', () => optional('USER_CLAIM', 'username'));
  },
  get uploadUrlExpirySeconds(): number {
    return once('uploadUrlExpirySeconds', () => positiveInt('UPLOAD_URL_EXPIRY_SECONDS', 3600));
  },
  /** How long an unfinished upload session lives (matches the bucket's abort rule). */
  get uploadSessionTtlSeconds(): number {
    return once('uploadSessionTtlSeconds', () => positiveInt('UPLOAD_SESSION_TTL_SECONDS', 3 * 24 * 3600));
  },
  get defaultPartSize(): number {
    return once('defaultPartSize', () => positiveInt('DEFAULT_PART_SIZE', 64 * 1024 * 1024));
  },
  get hasherConcurrency(): number {
    return once('hasherConcurrency', () => positiveInt('HASHER_CONCURRENCY', 8));
  },
  /**
   * Bytes per second the native (non-resumable) hash is expected to reach; a
   * run hashes natively only when the rest of the object fits its time left
   * at this rate with a margin (core/uploads/finish.ts).
   */
  get hasherExpectedRate(): number {
    return once('hasherExpectedRate', () => positiveInt('HASHER_EXPECTED_RATE', 100 * 1000 * 1000));
  },
  /** The hasher's deployed timeout: a hashing session quiet for longer than one run plus a margin is re-driven. */
  get hasherTimeoutSeconds(): number {
    return once('hasherTimeoutSeconds', () => positiveInt('HASHER_TIMEOUT_SECONDS', 900));
  },
  /** The hasher function the re-drive invokes (the sweeper's setting). */
  get hasherFunctionName(): string {
    return once('hasherFunctionName', () => required('HASHER_FUNCTION_NAME'));
  },
  /**
   * Added to one hasher run before a quiet session is re-driven: room for
   * Lambda's own retries of a failed run (1 and 2 minutes after it).
   */
  get redriveMarginSeconds(): number {
    return once('redriveMarginSeconds', () => positiveInt('REDRIVE_MARGIN_SECONDS', 300));
  },
  /** Re-drives of a session before it is failed. */
  get maxRedrives(): number {
    return once('maxRedrives', () => positiveInt('MAX_REDRIVES', 3));
  },
  get hasherRangeSize(): number {
    return once('hasherRangeSize', () => positiveInt('HASHER_RANGE_SIZE', 16 * 1024 * 1024));
  },
  /**
   * SDK calls' time to connect. A dependency that does not accept the
   * connection fails as a TimeoutError, which the SDK retries and the API
   * answers 503 with Retry-After (functions/http/errors.ts).
   */
  get awsConnectTimeoutMs(): number {
    return once('awsConnectTimeoutMs', () => positiveInt('AWS_CONNECT_TIMEOUT_MS', 3_000));
  },
  /**
   * SDK calls' time from sending to the answer's headers, and most idle time
   * while reading an answer, per attempt. In-region DynamoDB, S3 and Lambda
   * answer in milliseconds; with the SDK's 3 attempts a hung dependency costs
   * about 3 × this before the 503, well inside API Gateway's 30 s.
   */
  get awsRequestTimeoutMs(): number {
    return once('awsRequestTimeoutMs', () => positiveInt('AWS_REQUEST_TIMEOUT_MS', 5_000));
  },
  /**
   * Most idle time of the hasher's ranged S3 reads. Longer than an API call's:
   * a range that runs ahead of the hash is paused (no reads, so its socket is
   * idle) until the ranges before it are fetched and hashed, which may include
   * a stalled range's own timeout and retry.
   */
  get hasherReadTimeoutMs(): number {
    return once('hasherReadTimeoutMs', () => positiveInt('HASHER_READ_TIMEOUT_MS', 30_000));
  },
  /** How long a capture job's credential works (the node must finish its upload within it). */
  get captureCredentialTtlSeconds(): number {
    return once('captureCredentialTtlSeconds', () => positiveInt('CAPTURE_CREDENTIAL_TTL_SECONDS', 24 * 3600));
  },
  /** How long a capture job stays listed after its credential expired. */
  get captureRetentionSeconds(): number {
    return once('captureRetentionSeconds', () => positiveInt('CAPTURE_RETENTION_SECONDS', 30 * 24 * 3600));
  },
};
