/**
 * Lambda: S3 ObjectCreated events for `content/`. Hashes each new object and
 * switches its image's content (core/uploads/finish.ts). A thrown error makes
 * Lambda retry the event; what still fails lands in the failure queue.
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
import { finishUpload, type Outcome } from './core/uploads/finish.js';
import type { S3Client } from '@aws-sdk/client-s3';

const CONTENT_KEY = /^content\/([0-9a-f]{32})$/;

let client: S3Client | undefined;

export const handler = middy<S3Event, Outcome[], Error, Context>()
  .use(injectLambdaContext(logger, { resetKeys: true }))
  .use(logMetrics(metrics))
  .handler(async (event, context) => {
    client ??= createHashingS3Client({ concurrency: config.hasherConcurrency });
    const outcomes: Outcome[] = [];
    for (const record of event.Records) {
      const key = decodeURIComponent(record.s3.object.key.replace(/\+/g, ' '));
      const m = CONTENT_KEY.exec(key);
      if (!record.eventName.startsWith('ObjectCreated:') || !m?.[1]) {
        logger.warn('event ignored', { eventName: record.eventName, key });
        continue;
      }
      const outcome = await finishUpload(m[1], {
        client,
        timeLeft: () => context.getRemainingTimeInMillis(),
        log: logger,
      });
      logger.info('upload processed', { key, outcome });
      // One count per outcome: ready, failed (bad checksum, superseded, too large), duplicate, unknown.
      metrics.addMetric(uploadMetric(outcome), MetricUnit.Count, 1);
      outcomes.push(outcome);
    }
    return outcomes;
  });
