/**
 * A dependency that is down, refusing, resetting or timing out is transient:
 * the client gets 503 with Retry-After (and the wait in the reason), not a
 * 500. Errors are shaped as the SDK's Node HTTP handler raises them.
 */
import { DynamoDBClient, InternalServerError } from '@aws-sdk/client-dynamodb';
import { CreateMultipartUploadCommand, S3Client } from '@aws-sdk/client-s3';
import { DynamoDBDocumentClient, GetCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { errorToResponse } from '../../functions/http/errors.js';
import { apiEvent, context, route } from './events.js';
import { contentHandler, imageItem, recordsHandler } from './fixtures.js';

const ddbMock = mockClient(DynamoDBDocumentClient);
mockClient(DynamoDBClient);
const s3Mock = mockClient(S3Client);

let records: typeof import('../../functions/records.js').handler;
let content: typeof import('../../functions/content.js').handler;

beforeAll(async () => {
  records = await recordsHandler();
  content = await contentHandler();
});

beforeEach(() => {
  ddbMock.reset();
  s3Mock.reset();
});

const uid = '0123456789abcdef0123456789abcdef';
const image = imageItem(uid);

/** What node:net and the SDK's NodeHttpHandler throw. */
const systemError = (code: string, message: string): Error => Object.assign(new Error(message), { code });
const timeoutError = (): Error => Object.assign(new Error('Connection timed out after 1000 ms'), { name: 'TimeoutError' });
/** The handler's request timeout (functions/core/clients.ts sets throwOnRequestTimeout) and its idle socket timeout. */
const requestTimeout = (): Error =>
  Object.assign(new Error('@smithy/node-http-handler - [ERROR] a request has exceeded the configured 5000 ms requestTimeout.'), {
    name: 'TimeoutError',
    code: 'ETIMEDOUT',
  });
const idleTimeout = (): Error =>
  Object.assign(
    new Error(
      '@smithy/node-http-handler - the request socket timed out after 5000 ms of inactivity (configured by client requestHandler).',
    ),
    { name: 'TimeoutError' },
  );

const UNREACHABLE = {
  status: 503,
  body: { success: false, reason: 'a service this API depends on is unreachable right now; retry in 2 seconds' },
};

async function getRecord() {
  const result = await records(apiEvent(route('GET', '/image/{id}'), { params: { id: uid } }), context());
  return { result, parsed: { status: result.statusCode, body: JSON.parse(result.body ?? '{}') as unknown } };
}

describe('an unreachable dependency is a 503 with Retry-After', () => {
  it.each([
    ['connection refused', systemError('ECONNREFUSED', 'connect ECONNREFUSED 127.0.0.1:8000')],
    ['connection reset', systemError('ECONNRESET', 'read ECONNRESET')],
    ['socket hang up', systemError('ECONNRESET', 'socket hang up')],
    ['a connect timeout', systemError('ETIMEDOUT', 'connect ETIMEDOUT 10.0.0.1:443')],
    ['a broken pipe', systemError('EPIPE', 'write EPIPE')],
    ['an unresolvable host', systemError('ENOTFOUND', 'getaddrinfo ENOTFOUND dynamodb.example')],
    ["the SDK's connection timeout", timeoutError()],
    ['a request with no answer within the request timeout', requestTimeout()],
    ['an answer that stalls past the idle timeout', idleTimeout()],
    ['a server fault of DynamoDB', new InternalServerError({ message: 'Internal server error', $metadata: {} })],
  ])('%s on a read', async (_, error) => {
    ddbMock.on(GetCommand).rejects(error);
    const { result, parsed } = await getRecord();
    expect(parsed).toEqual(UNREACHABLE);
    expect(result.headers?.['retry-after']).toBe('2');
  });

  it('the real cause wrapped by another error still counts', () => {
    const wrapped = new Error('request failed', { cause: systemError('ECONNREFUSED', 'connect ECONNREFUSED') });
    const result = errorToResponse(wrapped, { error: () => undefined });
    expect(result.statusCode).toBe(503);
    expect(result.headers?.['retry-after']).toBe('2');
  });

  it('S3 refusing a connection while an upload starts', async () => {
    ddbMock.on(GetCommand).resolves({ Item: image });
    s3Mock.on(CreateMultipartUploadCommand).rejects(systemError('ECONNREFUSED', 'connect ECONNREFUSED 127.0.0.1:4569'));
    const event = apiEvent(route('PUT', '/image/{id}/content'), { params: { id: uid }, body: { size: 1024 } });
    const result = await content(event, context());
    expect({ status: result.statusCode, body: JSON.parse(result.body ?? '{}') as unknown }).toEqual(UNREACHABLE);
    expect(result.headers?.['retry-after']).toBe('2');
  });

  it('throttling says the service is busy, with the same wait', async () => {
    ddbMock.on(GetCommand).rejects(Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException', $metadata: {} }));
    const { result, parsed } = await getRecord();
    expect(parsed).toEqual({ status: 503, body: { success: false, reason: 'the service is busy right now; retry in 2 seconds' } });
    expect(result.headers?.['retry-after']).toBe('2');
  });

  it('an aborted call and an unknown failure stay a bare 500', async () => {
    for (const error of [
      Object.assign(new Error('The operation was aborted'), { name: 'AbortError', code: 'ECONNRESET' }),
      new Error('something else broke'),
    ]) {
      ddbMock.on(GetCommand).rejects(error);
      const { result, parsed } = await getRecord();
      expect(parsed).toEqual({ status: 500, body: { success: false, reason: 'internal error; the service logged the details' } });
      expect(result.headers?.['retry-after']).toBeUndefined();
    }
  });
});
