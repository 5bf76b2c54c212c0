import { Metrics } from '@aws-lambda-powertools/metrics';

/**
 * CloudWatch metrics as embedded-metric-format log lines, flushed by the
 * `logMetrics` middleware after each invocation. Namespace and service come
 * from POWERTOOLS_METRICS_NAMESPACE and POWERTOOLS_SERVICE_NAME; the local
 * stack turns them off (POWERTOOLS_METRICS_DISABLED) to keep its output readable.
 */
export const metrics = new Metrics();
