/**
 * The API's envelope: `{"success": true, "data": ...}` or
 * `{"success": false, "reason": "..."}`, as the reference page shows.
 */
import type { APIGatewayProxyStructuredResultV2 } from 'aws-lambda';

export type HttpResult = APIGatewayProxyStructuredResultV2;

const JSON_HEADERS = { 'content-type': 'application/json; charset=utf-8' };

export function ok(data: unknown, init: { status?: number; headers?: Record<string, string>; extra?: object } = {}): HttpResult {
  return {
    statusCode: init.status ?? 200,
    headers: { ...JSON_HEADERS, ...init.headers },
    body: JSON.stringify({ success: true, data, ...init.extra }),
  };
}

export function fail(status: number, reason: string, headers: Record<string, string> = {}): HttpResult {
  return {
    statusCode: status,
    headers: { ...JSON_HEADERS, ...headers },
    body: JSON.stringify({ success: false, reason }),
  };
}

export { LAMBDA_MAX_RESPONSE_BYTES } from '../core/payload.js';

/** The size of a result as Lambda counts it (core/payload.ts): UTF-8 bytes of the result object's JSON. */
export const lambdaPayloadBytes = (result: HttpResult): number => Buffer.byteLength(JSON.stringify(result), 'utf8');
