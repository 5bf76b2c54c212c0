/**
 * Reading a request at the edge: the JSON body (size-limited, any content
 * type, since `curl --data` sends form encoding), query parameters and
 * If-Match, each failing with a reason the caller can act on.
 */
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { invalid, ServiceError } from '../core/errors.js';

export const MAX_BODY_BYTES = 1024 * 1024;

export function jsonBody(event: Pick<APIGatewayProxyEventV2, 'body' | 'isBase64Encoded'>): Record<string, unknown> {
  const raw = event.body ?? '';
  const bytes = event.isBase64Encoded ? Buffer.from(raw, 'base64') : Buffer.from(raw, 'utf8');
  if (bytes.length > MAX_BODY_BYTES) {
    throw new ServiceError('too_large', `the request body is ${bytes.length} bytes; the limit is ${MAX_BODY_BYTES} (1 MiB)`);
  }
  const text = bytes.toString('utf8');
  if (text.trim() === '') throw invalid('a JSON object body is required');
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw invalid(`the body is not valid JSON: ${(error as Error).message}`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw invalid(`the body must be a JSON object, not ${value === null ? 'null' : Array.isArray(value) ? 'an array' : typeof value}`);
  }
  return value as Record<string, unknown>;
}

/**
 * The versions an `If-Match` header accepts: one or more of the record's
 * ETags (`"3"`, or a list `"3", "4"`); `*` or no header means no check.
 * If-Match compares strongly, so a weak tag (`W/"3"`) matches nothing.
 */
export function ifMatchVersions(headers: APIGatewayProxyEventV2['headers']): readonly number[] | undefined {
  const value = headers['if-match'];
  if (value === undefined || value.trim() === '*') return undefined;
  const versions: number[] = [];
  // Empty list items are allowed and ignored (RFC 9110, 5.6.1).
  for (const tag of value.split(',').filter((t) => t.trim() !== '')) {
    const m = /^\s*(W\/)?"(\d{1,15})"\s*$/.exec(tag);
    if (!m) throw invalid(`If-Match must list ETags this API gave out, such as "3"; got ${value}`);
    if (m[1] === undefined) versions.push(Number(m[2]));
  }
  return versions;
}

export const etagOf = (version: number): string => `"${version}"`;
