/**
 * What the local stack cannot show: AWS throttling, transaction conflicts
 * and other AWS-only failures. Each must map to a clear status and reason,
 * never a 500 that leaks internals.
 */
import {
  ConditionalCheckFailedException,
  DynamoDBClient,
  ProvisionedThroughputExceededException,
  ThrottlingException,
  TransactionCanceledException,
  TransactionConflictException,
} from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, GetCommand, PutCommand, TransactWriteCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { context, apiEvent, route } from './events.js';
import { imageItem, recordsHandler } from './fixtures.js';

const ddbMock = mockClient(DynamoDBDocumentClient);
// The document client sends through the base client: mock both so nothing reaches a network.
mockClient(DynamoDBClient);

let records: typeof import('../../functions/records.js').handler;

beforeAll(async () => {
  records = await recordsHandler();
});

beforeEach(() => ddbMock.reset());

const meta = { $metadata: {} };
const image = imageItem('0123456789abcdef0123456789abcdef');

function parse(result: Awaited<ReturnType<typeof records>>) {
  return { status: result.statusCode, body: JSON.parse(result.body ?? '{}') as { success: boolean; reason?: string } };
}

describe('AWS failures become clear answers', () => {
  it('throttling on a read becomes 503 with Retry-After', async () => {
    ddbMock.on(GetCommand).rejects(new ThrottlingException({ message: 'Rate exceeded', ...meta }));
    const result = await records(apiEvent(route('GET', '/image/{id}'), { params: { id: image.uid } }), context());
    expect(parse(result)).toEqual({
      status: 503,
      body: { success: false, reason: 'the service is busy right now; retry in 2 seconds' },
    });
    expect(result.headers?.['retry-after']).toBe('2');
  });

  it('exceeded throughput on a write becomes 503', async () => {
    ddbMock.on(TransactWriteCommand).rejects(new ProvisionedThroughputExceededException({ message: 'slow down', ...meta }));
    const result = await records(apiEvent(route('POST', '/images'), { body: { name: 'fresh' } }), context());
    expect(parse(result).status).toBe(503);
  });

  it('a transaction that lost to a concurrent one on create becomes 409 with a reason', async () => {
    ddbMock.on(TransactWriteCommand).rejects(
      new TransactionCanceledException({
        message: 'Transaction cancelled',
        CancellationReasons: [{ Code: 'None' }, { Code: 'TransactionConflict' }],
        ...meta,
      }),
    );
    const result = parse(await records(apiEvent(route('POST', '/images'), { body: { name: 'fresh' } }), context()));
    expect(result).toEqual({
      status: 409,
      body: { success: false, reason: 'another request changed "fresh" at the same time; retry' },
    });
  });

  it('a name guard condition failure in the transaction becomes 409 name taken', async () => {
    ddbMock.on(TransactWriteCommand).rejects(
      new TransactionCanceledException({
        message: 'Transaction cancelled',
        CancellationReasons: [{ Code: 'None' }, { Code: 'ConditionalCheckFailed' }],
        ...meta,
      }),
    );
    const result = parse(await records(apiEvent(route('POST', '/images'), { body: { name: 'fresh' } }), context()));
    expect(result).toEqual({ status: 409, body: { success: false, reason: 'an image named "fresh" already exists' } });
  });

  it('a PATCH that keeps losing the version race retries, then answers 409', async () => {
    ddbMock.on(GetCommand).resolves({ Item: image });
    ddbMock.on(PutCommand).rejects(new ConditionalCheckFailedException({ message: 'The conditional request failed', ...meta }));
    const result = parse(
      await records(apiEvent(route('PATCH', '/image/{id}'), { params: { id: image.uid }, body: { distro: 'x' } }), context()),
    );
    expect(result.status).toBe(409);
    expect(result.body.reason).toMatch(/is being changed by other requests; retry/);
    // It re-read and re-tried before giving up.
    expect(ddbMock.commandCalls(PutCommand).length).toBe(8);
  });

  it('a PATCH that wins on the second try succeeds with the next version', async () => {
    ddbMock.on(GetCommand).resolves({ Item: image });
    ddbMock
      .on(PutCommand)
      .rejectsOnce(new ConditionalCheckFailedException({ message: 'The conditional request failed', ...meta }))
      .resolves({});
    const result = await records(apiEvent(route('PATCH', '/image/{id}'), { params: { id: image.uid }, body: { distro: 'x' } }), context());
    expect(result.statusCode).toBe(200);
    expect(result.headers?.['etag']).toBe('"4"');
    expect(ddbMock).toHaveReceivedCommandWith(PutCommand, {
      ConditionExpression: '#version = :expected',
      ExpressionAttributeValues: { ':expected': 3 },
    });
  });

  it('a transaction conflict on a rename is retried like a version conflict', async () => {
    ddbMock.on(GetCommand).resolves({ Item: image });
    ddbMock
      .on(TransactWriteCommand)
      .rejectsOnce(new TransactionConflictException({ message: 'conflict', ...meta }))
      .rejectsOnce(
        new TransactionCanceledException({
          message: 'cancelled',
          CancellationReasons: [{ Code: 'None' }, { Code: 'None' }, { Code: 'TransactionConflict' }],
          ...meta,
        }),
      )
      .resolves({});
    const result = await records(
      apiEvent(route('PATCH', '/image/{id}'), { params: { id: image.uid }, body: { name: 'renamed' } }),
      context(),
    );
    expect(result.statusCode).toBe(200);
    expect(ddbMock.commandCalls(TransactWriteCommand)).toHaveLength(3);
  });

  it('an unexpected failure is a bare 500: no message, no stack', async () => {
    ddbMock.on(GetCommand).rejects(new Error('socket hang up at 10.1.2.3:443 secret-internal-detail'));
    const result = await records(apiEvent(route('GET', '/image/{id}'), { params: { id: image.uid } }), context());
    expect(parse(result)).toEqual({ status: 500, body: { success: false, reason: 'internal error; the service logged the details' } });
    expect(result.body).not.toMatch(/secret-internal-detail|at /);
  });

  it('claims as API Gateway flattens them: "[admins ops]" is an admin; "[ops]" is not', async () => {
    ddbMock.on(GetCommand).resolves({ Item: image });
    const event = apiEvent(route('DELETE', '/image/{id}'), { params: { id: image.uid } });
    event.requestContext.authorizer!.jwt!.claims['cognito:groups'] = '[ops]';
    const { handler: content } = await import('../../functions/content.js');
    expect((await content(event, context())).statusCode).toBe(403);
  });
});
