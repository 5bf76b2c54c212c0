/**
 * Lambda, on a schedule: collects content files that lost their last
 * reference but whose clean-up did not finish (an S3 or DynamoDB error after
 * the releasing transaction; core/files/sweep.ts), and re-drives upload
 * sessions whose hasher went quiet, failing them after several tries
 * (core/uploads/stale.ts).
 */
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import middy from '@middy/core';
import type { Context } from 'aws-lambda';
import { sweepReleasedFiles, type FileSweep } from './core/files/sweep.js';
import { redriveStaleHashing, type Redrive } from './core/uploads/stale.js';
import { logger } from './core/logger.js';
import { metrics } from './core/metrics.js';

export interface SweepResult extends FileSweep {
  /** Upload sessions whose hasher went quiet: driven again, completed, or failed. */
  redrive: Redrive;
}

export const handler = middy<unknown, SweepResult, Error, Context>()
  .use(injectLambdaContext(logger, { resetKeys: true }))
  .use(logMetrics(metrics))
  .handler(async () => {
    // Stale sessions first: failing one deletes its object, which the file sweep never sees.
    const redrive = await redriveStaleHashing();
    const result: SweepResult = { ...(await sweepReleasedFiles()), redrive };
    if (redrive.redriven.length + redrive.completed.length > 0) {
      logger.warn('upload sessions whose hasher went quiet were driven again', { ...redrive, failed: undefined });
    }
    if (redrive.failed.length > 0) logger.warn('upload sessions failed after their hasher went quiet', { failed: redrive.failed });
    metrics.addMetric('RedrivenUploads', MetricUnit.Count, redrive.redriven.length + redrive.completed.length);
    metrics.addMetric('StaleUploads', MetricUnit.Count, redrive.failed.length);
    // Collected files are clean-ups that failed earlier: worth watching if it grows.
    metrics.addMetric('SweptFiles', MetricUnit.Count, result.collected);
    metrics.addMetric('SweepFailures', MetricUnit.Count, result.failed.length);
    if (result.failed.length > 0) logger.error('files left for the next sweep', { failed: result.failed });
    logger.info('sweep done', { collected: result.collected, stillReferenced: result.stillReferenced });
    if (result.failed.length > 0) throw new Error(`${result.failed.length} files could not be collected; see the log`);
    return result;
  });
