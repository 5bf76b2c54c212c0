/** API Gateway HTTP API (payload 2.0) events for calling handlers directly. */
import type { ApiEvent } from '../../functions/http/api-handler.js';
import { API_BASE } from '../../functions/routes.js';
import { lambdaContext } from '../../local/lambda-context.js';

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
