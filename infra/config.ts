/**
 * Typed deployment settings, read from CDK context (`cdk.json` or `-c key=value`).
 * Values given with `-c` arrive as strings, those in cdk.json as JSON, so every
 * reader accepts both and fails at synth time with the setting's name rather
 * than deploying a bad value. docs/deploy.md documents each key.
 */
import type { Node } from 'constructs';

export type MfaMode = 'off' | 'optional' | 'required';
export type LogLevel = 'DEBUG' | 'INFO' | 'WARN' | 'ERROR';

/** Where tokens come from: a Cognito pool this stack creates, or an existing OIDC issuer. */
export type AuthConfig =
  | { readonly kind: 'cognito'; readonly mfa: MfaMode }
  | { readonly kind: 'oidc'; readonly issuer: string; readonly audience: readonly string[] };

export interface ServiceConfig {
  readonly stackName: string;
  readonly serviceName: string;
  /** CloudWatch namespace of the functions' own metrics (Powertools). */
  readonly metricsNamespace: string;
  readonly auth: AuthConfig;
  readonly adminGroup: string;
  readonly groupsClaim: string;
  readonly userClaim: string;
  readonly logLevel: LogLevel;
  readonly logRetentionDays: number;
  readonly uploadUrlExpirySeconds: number;
  readonly defaultPartSize: number;
  readonly abortIncompleteUploadDays: number;
  readonly corsAllowedOrigins: readonly string[];
  readonly apiMemoryMb: number;
  readonly hasherMemoryMb: number;
  readonly hasherConcurrency: number;
  readonly hasherRangeSize: number;
  readonly hasherRetryAttempts: number;
  /** Concurrent hasher runs at most; the rest of the account's concurrency stays with the API. */
  readonly hasherReservedConcurrency: number;
  /** How long a capture job's credential works. */
  readonly captureCredentialTtlHours: number;
  readonly throttleRateLimit: number;
  readonly throttleBurstLimit: number;
  /** Subscribed by email to the alarm topic when given. */
  readonly alarmEmail: string | undefined;
}

const MIB = 1024 * 1024;

export const DEFAULTS = {
  stackName: 'ImageService',
  serviceName: 'image-service',
  metricsNamespace: 'ImageService',
  mfa: 'optional',
  adminGroup: 'admins',
  groupsClaim: 'cognito:groups',
  userClaim: 'username',
  logLevel: 'INFO',
  logRetentionDays: 90,
  uploadUrlExpirySeconds: 3600,
  defaultPartSize: 64 * MIB,
  abortIncompleteUploadDays: 3,
  corsAllowedOrigins: ['*'],
  apiMemoryMb: 512,
  hasherMemoryMb: 1024,
  hasherConcurrency: 8,
  hasherRangeSize: 16 * MIB,
  hasherRetryAttempts: 2,
  hasherReservedConcurrency: 10,
  captureCredentialTtlHours: 24,
  throttleRateLimit: 100,
  throttleBurstLimit: 200,
} as const satisfies Partial<Record<keyof ServiceConfig | 'mfa', unknown>>;

/** The values CloudWatch Logs accepts for a retention period. */
const RETENTION_DAYS = [1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653] as const;

class ContextReader {
  constructor(private readonly node: Node) {}

  private raw(key: string): unknown {
    const value: unknown = this.node.tryGetContext(key);
    return value === '' ? undefined : value;
  }

  string(key: string, fallback: string, pattern?: RegExp): string {
    const value = this.raw(key) ?? fallback;
    if (typeof value !== 'string' || (pattern && !pattern.test(value))) {
      throw new Error(`context ${key}: expected a string${pattern ? ` matching ${pattern}` : ''}, got ${JSON.stringify(value)}`);
    }
    return value;
  }

  optionalString(key: string): string | undefined {
    const value = this.raw(key);
    if (value === undefined) return undefined;
    if (typeof value !== 'string') throw new Error(`context ${key}: expected a string, got ${JSON.stringify(value)}`);
    return value;
  }

  oneOf<T extends string>(key: string, fallback: T, allowed: readonly T[]): T {
    const value = this.raw(key) ?? fallback;
    const found = allowed.find((a) => a === value);
    if (found === undefined) {
      throw new Error(`context ${key}: expected one of ${allowed.join(', ')}, got ${JSON.stringify(value)}`);
    }
    return found;
  }

  int(key: string, fallback: number, min: number, max: number): number {
    const value = this.raw(key) ?? fallback;
    const n = typeof value === 'string' && /^\d+$/.test(value) ? Number(value) : value;
    if (typeof n !== 'number' || !Number.isInteger(n) || n < min || n > max) {
      throw new Error(`context ${key}: expected an integer in [${min}, ${max}], got ${JSON.stringify(value)}`);
    }
    return n;
  }

  /** A JSON array of strings, or a comma-separated string (for `-c`). */
  list(key: string, fallback: readonly string[]): readonly string[] {
    const value = this.raw(key) ?? fallback;
    const items = typeof value === 'string' ? value.split(',').map((s) => s.trim()) : value;
    if (!Array.isArray(items) || items.length === 0 || !items.every((s): s is string => typeof s === 'string' && s !== '')) {
      throw new Error(`context ${key}: expected a non-empty list of strings, got ${JSON.stringify(value)}`);
    }
    return items;
  }
}

function readAuth(ctx: ContextReader): AuthConfig {
  const issuer = ctx.optionalString('jwtIssuer');
  if (issuer === undefined) {
    return { kind: 'cognito', mfa: ctx.oneOf<MfaMode>('mfa', DEFAULTS.mfa, ['off', 'optional', 'required']) };
  }
  if (!/^https:\/\/\S+$/.test(issuer)) throw new Error(`context jwtIssuer: expected an https URL, got ${JSON.stringify(issuer)}`);
  // No default audience: list() rejects the empty fallback, naming the missing key.
  return { kind: 'oidc', issuer, audience: ctx.list('jwtAudience', []) };
}

export function loadConfig(node: Node): ServiceConfig {
  const ctx = new ContextReader(node);
  const retention = ctx.int('logRetentionDays', DEFAULTS.logRetentionDays, 1, 3653);
  if (!RETENTION_DAYS.some((d) => d === retention)) {
    throw new Error(`context logRetentionDays: CloudWatch accepts only ${RETENTION_DAYS.join(', ')}; got ${retention}`);
  }
  const config: ServiceConfig = {
    stackName: ctx.string('stackName', DEFAULTS.stackName, /^[A-Za-z][A-Za-z0-9-]{0,127}$/),
    serviceName: ctx.string('serviceName', DEFAULTS.serviceName, /^[a-z][a-z0-9-]{0,39}$/),
    metricsNamespace: ctx.string('metricsNamespace', DEFAULTS.metricsNamespace, /^[A-Za-z0-9._/#:-]{1,255}$/),
    auth: readAuth(ctx),
    adminGroup: ctx.string('adminGroup', DEFAULTS.adminGroup, /^[\p{L}\p{M}\p{S}\p{N}\p{P}]{1,128}$/u),
    groupsClaim: ctx.string('groupsClaim', DEFAULTS.groupsClaim, /^\S+$/),
    userClaim: ctx.string('userClaim', DEFAULTS.userClaim, /^\S+$/),
    logLevel: ctx.oneOf<LogLevel>('logLevel', DEFAULTS.logLevel, ['DEBUG', 'INFO', 'WARN', 'ERROR']),
    logRetentionDays: retention,
    // SigV4 presigned URLs live at most 7 days.
    // A URL signed with the function's role credentials dies with them, whatever it says:
    // keep the promise within what those temporary credentials are sure to last.
    uploadUrlExpirySeconds: ctx.int('uploadUrlExpirySeconds', DEFAULTS.uploadUrlExpirySeconds, 60, 21_600),
    // S3 multipart limits: parts are 5 MiB to 5 GiB.
    defaultPartSize: ctx.int('defaultPartSize', DEFAULTS.defaultPartSize, 5 * MIB, 5 * 1024 * MIB),
    abortIncompleteUploadDays: ctx.int('abortIncompleteUploadDays', DEFAULTS.abortIncompleteUploadDays, 1, 365),
    corsAllowedOrigins: ctx.list('corsAllowedOrigins', DEFAULTS.corsAllowedOrigins),
    apiMemoryMb: ctx.int('apiMemoryMb', DEFAULTS.apiMemoryMb, 128, 10_240),
    hasherMemoryMb: ctx.int('hasherMemoryMb', DEFAULTS.hasherMemoryMb, 128, 10_240),
    hasherConcurrency: ctx.int('hasherConcurrency', DEFAULTS.hasherConcurrency, 1, 64),
    hasherRangeSize: ctx.int('hasherRangeSize', DEFAULTS.hasherRangeSize, MIB, 1024 * MIB),
    // Lambda's asynchronous invocation allows 0 to 2 retries.
    hasherRetryAttempts: ctx.int('hasherRetryAttempts', DEFAULTS.hasherRetryAttempts, 0, 2),
    // Lambda keeps 100 of an account's concurrency unreserved; docs/deploy.md explains the numbers.
    hasherReservedConcurrency: ctx.int('hasherReservedConcurrency', DEFAULTS.hasherReservedConcurrency, 1, 900),
    // Long enough to capture a large root over a slow link; short enough that a forgotten credential dies.
    captureCredentialTtlHours: ctx.int('captureCredentialTtlHours', DEFAULTS.captureCredentialTtlHours, 1, 24 * 7),
    // API Gateway's account-level quota per region is 10,000 requests/s with a burst of 5,000.
    throttleRateLimit: ctx.int('throttleRateLimit', DEFAULTS.throttleRateLimit, 1, 10_000),
    throttleBurstLimit: ctx.int('throttleBurstLimit', DEFAULTS.throttleBurstLimit, 1, 5_000),
    alarmEmail: ctx.optionalString('alarmEmail'),
  };
  if (config.alarmEmail !== undefined && !/^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(config.alarmEmail)) {
    throw new Error(`context alarmEmail: expected an email address, got ${JSON.stringify(config.alarmEmail)}`);
  }
  if (config.throttleBurstLimit < config.throttleRateLimit) {
    throw new Error(
      `context throttleBurstLimit (${config.throttleBurstLimit}) must be at least throttleRateLimit (${config.throttleRateLimit})`,
    );
  }
  // The hasher holds up to `concurrency` ranges in memory at once; refuse settings that cannot fit.
  const bufferedMb = (config.hasherConcurrency * config.hasherRangeSize) / MIB;
  if (bufferedMb > config.hasherMemoryMb / 2) {
    throw new Error(
      `context hasherConcurrency x hasherRangeSize buffers ${bufferedMb} MiB, more than half of hasherMemoryMb (${config.hasherMemoryMb})`,
    );
  }
  return config;
}
