/**
 * Runs a Lambda handler in the test process against the shared local stack:
 * points the SDK and the handlers' configuration at the stack, then loads the
 * module (handlers read their environment when first used).
 */
import { stack } from './api.js';

export function useStackEnvironment(): void {
  const s = stack();
  Object.assign(process.env, {
    TABLE_NAME: s.tableName,
    BUCKET_NAME: s.bucket,
    SITE_NAME: 'local',
    AWS_REGION: 'us-east-1',
    AWS_ACCESS_KEY_ID: 'S3RVER',
    AWS_SECRET_ACCESS_KEY: 'S3RVER',
    AWS_ENDPOINT_URL_DYNAMODB: s.dynamodbEndpoint,
    AWS_ENDPOINT_URL_S3: s.s3Endpoint,
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
    POWERTOOLS_SERVICE_NAME: 'image-service',
    POWERTOOLS_LOG_LEVEL: 'ERROR',
    POWERTOOLS_METRICS_DISABLED: 'true',
  });
  delete process.env['AWS_PROFILE'];
}
