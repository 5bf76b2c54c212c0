/**
 * The one place where failures become HTTP: domain errors keep their message;
 * AWS throttling and transient faults become 503 with a reason; anything else
 * is logged in full and answered with a bare 500 that leaks no internals.
 * Every 5xx answered here is counted as a metric (ServerErrors), so failures
 * that leave as well-formed envelopes still raise an alarm.
 */
import { MetricUnit } from '@aws-lambda-powertools/metrics';
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

/** Errors the SDK raises when AWS asks us to slow down or is briefly unwell. */
const TRANSIENT = new Set([
  'ThrottlingException',
  'ProvisionedThroughputExceededException',
  'RequestLimitExceeded',
  'ThrottledException',
  'TooManyRequestsException',
  'SlowDown',
  'ServiceUnavailable',
  'InternalServerError',
  'InternalError',
  'LimitExceededException',
]);

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
  const name = error instanceof Error ? error.name : undefined;
  if (name !== undefined && TRANSIENT.has(name)) {
    log.error('AWS asked us to back off', { error });
    return fail(503, 'the service is busy right now; retry in a few seconds', { 'retry-after': '2' });
  }
  log.error('unhandled error', { error });
  return fail(500, 'internal error; the service logged the details');
}
