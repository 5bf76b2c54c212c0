/** API Gateway HTTP API (payload 2.0) and S3 events for calling handlers directly. */
import type { S3Event } from 'aws-lambda';
import type { ApiEvent } from '../../functions/http/api-handler.js';
import { API_BASE } from '../../functions/routes.js';
import { lambdaContext } from '../lambda-context.js';

export function apiEvent(
  routeKey: string,
  options: { params?: Record<string, string>; body?: unknown; admin?: boolean; user?: string } = {},
): ApiEvent {
  const [method = 'GET', path = '/'] = routeKey.split(' ');
  let rawPath = path;
  for (const [k, v] of Object.entries(options.params ?? {})) rawPath = rawPath.replace(`{${k}}`, v);
  return {
    version: '2.0',
    routeKey,
    rawPath,
    rawQueryString: '',
    headers: { 'content-type': 'application/json' },
    ...(options.params ? { pathParameters: options.params } : {}),
    ...(options.body !== undefined ? { body: JSON.stringify(options.body) } : {}),
    isBase64Encoded: false,
    requestContext: {
      accountId: '123456789012',
      apiId: 'api',
      authorizer: {
        principalId: '',
        integrationLatency: 0,
        jwt: {
          claims: { username: options.user ?? 'admin1', 'cognito:groups': options.admin === false ? '[]' : '[admins]' },
          scopes: [],
        },
      },
      domainName: 'api.example.com',
      domainPrefix: 'api',
      http: { method, path: rawPath, protocol: 'HTTP/1.1', sourceIp: '10.0.0.1', userAgent: 'vitest' },
      requestId: 'req-1',
      routeKey,
      stage: '$default',
      time: new Date().toISOString(),
      timeEpoch: Date.now(),
    },
  };
}

export const context = () => lambdaContext('test-function', 30_000);

export const route = (method: string, path: string): string => `${method} ${API_BASE}${path}`;

/** An S3 notification (by default of a completed multipart upload), as Lambda receives it. */
export function objectCreated(
  bucket: string,
  key: string,
  size: number,
  eTag = 'abc-1',
  eventName = 'ObjectCreated:CompleteMultipartUpload',
): S3Event {
  return {
    Records: [
      {
        eventVersion: '2.1',
        eventSource: 'aws:s3',
        awsRegion: 'us-east-1',
        eventTime: new Date().toISOString(),
        eventName,
        userIdentity: { principalId: 'AWS:x' },
        requestParameters: { sourceIPAddress: '10.0.0.1' },
        responseElements: { 'x-amz-request-id': 'r', 'x-amz-id-2': 'i' },
        s3: {
          s3SchemaVersion: '1.0',
          configurationId: 'content',
          bucket: { name: bucket, ownerIdentity: { principalId: 'o' }, arn: `arn:aws:s3:::${bucket}` },
          object: { key, size, eTag, sequencer: '01' },
        },
      },
    ],
  };
}
