/**
 * Lambda: S3 ObjectCreated events for `content/`, and the hasher's own
 * continuations (core/uploads/continuation.ts). Hashes each new object and
 * switches its image's content (core/uploads/finish.ts); a hash that reaches
 * the deadline saves its state and continues in a new invocation of this
 * function. A thrown error makes Lambda retry the event; what still fails
 * lands in the failure queue, and the sweeper's re-drive picks the session up.
 */
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import middy from '@middy/core';
import type { Context, S3Event } from 'aws-lambda';
import { config } from './core/config.js';
import { logger } from './core/logger.js';
import { metrics } from './core/metrics.js';
import { uploadMetric } from './core/metric-names.js';
import { createHashingS3Client } from './core/hashing/index.js';
import { invokeHasher, isHashContinuation, type HashContinuation } from './core/uploads/continuation.js';
import { finishUpload, type Outcome } from './core/uploads/finish.js';
import type { S3Client } from '@aws-sdk/client-s3';

const CONTENT_KEY = /^content\/([0-9a-f]{32})$/;

let client: S3Client | undefined;

/** Upload ids named by the event: one per content object created, or the one continued. */
function uploadIds(event: S3Event | HashContinuation): string[] {
  if (isHashContinuation(event)) return [event.upload_id];
  const ids: string[] = [];
  for (const record of event.Records) {
    const key = decodeURIComponent(record.s3.object.key.replace(/\+/g, ' '));
    const m = CONTENT_KEY.exec(key);
    if (!record.eventName.startsWith('ObjectCreated:') || !m?.[1]) {
      logger.warn('event ignored', { eventName: record.eventName, key });
      continue;
    }
    ids.push(m[1]);
  }
  return ids;
}

export const handler = middy<S3Event | HashContinuation, Outcome[], Error, Context>()
  .use(injectLambdaContext(logger, { resetKeys: true }))
  .use(logMetrics(metrics))
  .handler(async (event, context) => {
    client ??= createHashingS3Client({ concurrency: config.hasherConcurrency });
    const outcomes: Outcome[] = [];
    for (const uploadId of uploadIds(event)) {
      const outcome = await finishUpload(uploadId, {
        client,
        timeLeft: () => context.getRemainingTimeInMillis(),
        runId: context.awsRequestId,
        continueLater: (id) => invokeHasher(context.functionName, id),
        log: logger,
      });
      logger.info('upload processed', { uploadId, outcome });
      // One count per outcome: ready, failed (bad checksum, superseded, too large), duplicate, unknown,
      // continued (state saved, a new run goes on), busy (another run holds the lease).
      metrics.addMetric(uploadMetric(outcome), MetricUnit.Count, 1);
      outcomes.push(outcome);
    }
    return outcomes;
  });
