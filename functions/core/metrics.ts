import { Metrics } from '@aws-lambda-powertools/metrics';
import { config } from './config.js';

/**
 * CloudWatch metrics as embedded-metric-format log lines, flushed by the
 * `logMetrics` middleware after each invocation. Namespace and service (a
 * dimension of every metric) come from the stack's config through
 * functions/core/config.ts; metric names from ./metric-names.ts. The local
 * stack turns metrics off (POWERTOOLS_METRICS_DISABLED) to keep its output readable.
 */
export const metrics = new Metrics({ namespace: config.metricsNamespace, serviceName: config.serviceName });
