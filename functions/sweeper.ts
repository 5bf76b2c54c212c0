/**
 * Lambda, on a schedule: collects content files that lost their last
 * reference but whose clean-up did not finish (an S3 or DynamoDB error after
 * the releasing transaction; core/files/sweep.ts), and ends upload sessions
 * whose hasher never finished (core/uploads/stale.ts).
 */
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import middy from '@middy/core';
import type { Context } from 'aws-lambda';
import { sweepReleasedFiles, type FileSweep } from './core/files/sweep.js';
import { failStaleHashing } from './core/uploads/stale.js';
import { logger } from './core/logger.js';
import { metrics } from './core/metrics.js';

export interface SweepResult extends FileSweep {
  /** Upload sessions ended because their hasher never finished. */
  staleUploads: string[];
}

export const handler = middy<unknown, SweepResult, Error, Context>()
  .use(injectLambdaContext(logger, { resetKeys: true }))
  .use(logMetrics(metrics))
  .handler(async () => {
    // Stale sessions first: failing one deletes its object, which the file sweep never sees.
    const stale = await failStaleHashing();
    const result: SweepResult = { ...(await sweepReleasedFiles()), staleUploads: stale.failed };
    if (stale.failed.length > 0) logger.warn('upload sessions whose hasher never finished were failed', { stale: stale.failed });
    metrics.addMetric('StaleUploads', MetricUnit.Count, stale.failed.length);
    // Collected files are clean-ups that failed earlier: worth watching if it grows.
    metrics.addMetric('SweptFiles', MetricUnit.Count, result.collected);
    metrics.addMetric('SweepFailures', MetricUnit.Count, result.failed.length);
    if (result.failed.length > 0) logger.error('files left for the next sweep', { failed: result.failed });
    logger.info('sweep done', { collected: result.collected, stillReferenced: result.stillReferenced });
    if (result.failed.length > 0) throw new Error(`${result.failed.length} files could not be collected; see the log`);
    return result;
  });
