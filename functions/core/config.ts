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
  get hasherRangeSize(): number {
    return once('hasherRangeSize', () => positiveInt('HASHER_RANGE_SIZE', 16 * 1024 * 1024));
  },
};
