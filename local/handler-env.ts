/**
 * The environment the handlers read when they run on this machine: the
 * SDK's standard endpoint variables point them at DynamoDB Local and the
 * local S3 (s3rver accepts its conventional S3RVER key pair), so no handler
 * has a local branch. Used by the stack and by tests that run a handler
 * in their own process against the stack.
 */
export interface LocalEndpoints {
  dynamodbEndpoint: string;
  s3Endpoint: string;
  /** The local Lambda runtime's Invoke endpoint (local/lambda-runtime.ts); none for a handler that invokes nothing. */
  lambdaEndpoint?: string;
  tableName: string;
  bucket: string;
}

export function useLocalHandlerEnvironment(endpoints: LocalEndpoints, overrides: Record<string, string> = {}): void {
  Object.assign(process.env, {
    AWS_REGION: 'us-east-1',
    AWS_ACCESS_KEY_ID: 'S3RVER',
    AWS_SECRET_ACCESS_KEY: 'S3RVER',
    AWS_ENDPOINT_URL_DYNAMODB: endpoints.dynamodbEndpoint,
    AWS_ENDPOINT_URL_S3: endpoints.s3Endpoint,
    ...(endpoints.lambdaEndpoint !== undefined ? { AWS_ENDPOINT_URL_LAMBDA: endpoints.lambdaEndpoint } : {}),
    // The sweeper's re-drive invokes the hasher by this name (local/stack.ts names it so).
    HASHER_FUNCTION_NAME: 'image-service-hasher',
    // Lambda runs Node.js 22+; this machine's Node 20 is fine for the local stack.
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
    TABLE_NAME: endpoints.tableName,
    BUCKET_NAME: endpoints.bucket,
    SITE_NAME: 'local',
    POWERTOOLS_SERVICE_NAME: 'image-service',
    POWERTOOLS_LOG_LEVEL: process.env['POWERTOOLS_LOG_LEVEL'] ?? 'WARN',
    POWERTOOLS_METRICS_NAMESPACE: 'ImageService',
    POWERTOOLS_METRICS_DISABLED: process.env['POWERTOOLS_METRICS_DISABLED'] ?? 'true',
    ...overrides,
  });
  // A profile in the user's shell would take precedence over the keys above.
  delete process.env['AWS_PROFILE'];
}
