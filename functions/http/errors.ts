/**
 * The one place where failures become HTTP: domain errors keep their message;
 * AWS throttling and unreachable dependencies become 503 with Retry-After; anything else
 * is logged in full and answered with a bare 500 that leaks no internals.
 * Every 5xx answered here is counted as a metric (ServerErrors), so failures
 * that leave as well-formed envelopes still raise an alarm.
 */
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { isThrottlingError, isTransientError } from '@smithy/core/retry';
import type { SdkError } from '@smithy/types';
import type { ErrorKind } from '../core/errors.js';
import { METRIC } from '../core/metric-names.js';
import { metrics } from '../core/metrics.js';
import { ServiceError } from '../core/errors.js';
import { TransactionConflict } from '../core/db/transact.js';
import { fail, type HttpResult } from './envelope.js';

const STATUS: Record<ErrorKind, number> = {
  invalid: 400,
  unauthenticated: 401,
  forbidden: 403,
  not_found: 404,
  conflict: 409,
  precondition_failed: 412,
  too_large: 413,
  unavailable: 503,
};

/** Seconds a client should wait before retrying a 503 (also said in the reason). */
const RETRY_AFTER_SECONDS = 2;

/**
 * Throttling and transient faults, as the AWS SDK's own retry strategy
 * classifies them: throttling codes and 429s; refused, reset or timed-out
 * connections (ECONNREFUSED, ECONNRESET, "socket hang up", TimeoutError,
 * ETIMEDOUT, EPIPE), unreachable hosts, and AWS 5xx answers. When the SDK's
 * retries run out on one of these, the dependency is down or overloaded: the
 * client can retry, so it is a 503, not a 500.
 */
function transientKind(error: unknown): 'throttled' | 'unreachable' | undefined {
  if (!(error instanceof Error)) return undefined;
  const sdkError = error as SdkError;
  if (isThrottlingError(sdkError)) return 'throttled';
  // A modeled AWS server fault (InternalServerError, S3's InternalError) is retryable too.
  if (isTransientError(sdkError) || sdkError.$fault === 'server') return 'unreachable';
  return undefined;
}

const TRANSIENT_REASON = {
  throttled: `the service is busy right now; retry in ${RETRY_AFTER_SECONDS} seconds`,
  unreachable: `a service this API depends on is unreachable right now; retry in ${RETRY_AFTER_SECONDS} seconds`,
} as const;

export interface ErrorLog {
  error(message: string, ...extra: unknown[]): void;
}

export function errorToResponse(error: unknown, log: ErrorLog): HttpResult {
  const response = toResponse(error, log);
  // Published at once (an API request has no other metric to flush with it).
  if ((response.statusCode ?? 500) >= 500) metrics.singleMetric().addMetric(METRIC.serverErrors, MetricUnit.Count, 1);
  return response;
}

function toResponse(error: unknown, log: ErrorLog): HttpResult {
  if (error instanceof ServiceError) return fail(STATUS[error.kind], error.message);
  if (error instanceof TransactionConflict) {
    return fail(409, 'another request changed the same data at the same time; retry');
  }
  // Transactions lost to a concurrent one reach here as TransactionConflict (db/transact.ts).
  const transient = transientKind(error);
  if (transient !== undefined) {
    log.error(transient === 'throttled' ? 'AWS asked us to back off' : 'a dependency is unreachable', { error });
    return fail(503, TRANSIENT_REASON[transient], { 'retry-after': String(RETRY_AFTER_SECONDS) });
  }
  log.error('unhandled error', { error });
  return fail(500, 'internal error; the service logged the details');
}
