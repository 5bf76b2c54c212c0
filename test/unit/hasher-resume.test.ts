/**
 * The hasher across invocations, against mocked AWS: it stops at its
 * deadline with its SHA-1 state saved and invokes itself to go on; a run
 * resumes from a saved state at the saved offset and gets the whole
 * object's sha1; a native run that runs out hands over to a resumable one;
 * a run never hashes a session another run holds; an older upload never
 * replaces newer content.
 */
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { ConditionalCheckFailedException, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { InvokeCommand, LambdaClient } from '@aws-sdk/client-lambda';
import { DeleteObjectCommand, GetObjectCommand, HeadObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { DynamoDBDocumentClient, GetCommand, TransactWriteCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { S3Event } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { createSHA1 } from 'hash-wasm';
import { beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { lambdaContext } from '../lambda-context.js';
import { objectCreated } from './events.js';
import { useHandlerEnv } from './fixtures.js';
import { contentKey, keys } from '../../functions/core/db/schema.js';

const ddbMock = mockClient(DynamoDBDocumentClient);
mockClient(DynamoDBClient);
const s3Mock = mockClient(S3Client);
const lambdaMock = mockClient(LambdaClient);

type Handler = (event: unknown, context: ReturnType<typeof lambdaContext>) => Promise<string[]>;
let hasher: Handler;

beforeAll(async () => {
  useHandlerEnv({
    POWERTOOLS_METRICS_DISABLED: 'true',
    HASHER_RANGE_SIZE: String(1024 * 1024),
    HASHER_CONCURRENCY: '2',
  });
  ({ handler: hasher } = (await import('../../functions/hasher.js')) as unknown as { handler: Handler });
});

const uploadId = 'fedcba9876543210fedcba9876543210';
const imageUid = '0123456789abcdef0123456789abcdef';
const key = contentKey(uploadId);

const session = (fields: Record<string, unknown> = {}) => ({
  ...keys.upload(uploadId),
  kind: 'upload',
  upload_id: uploadId,
  image_uid: imageUid,
  key,
  s3_upload_id: 's3-upload',
  part_size: 5 * 1024 * 1024,
  part_count: 1,
  fmt: 'raw',
  state: 'hashing',
  started_by: 'admin1',
  started_on: 'eu-west-1',
  created_at: 1_700_000_000,
  completed_at: 1_700_000_100_000,
  expires_at: 1_900_000_000,
  ...fields,
});

/** S3 answering ranged GETs from `data`, each body after `delayMs`. */
function serve(data: Buffer, delayMs = 0) {
  s3Mock.on(HeadObjectCommand).resolves({ ContentLength: data.length, ETag: '"etag-1"', LastModified: new Date(1_700_000_000_000) });
  s3Mock.on(GetObjectCommand).callsFake(async (input: { Range: string }) => {
    const [, a, b] = /bytes=(\d+)-(\d+)/.exec(input.Range) ?? [];
    const slice = data.subarray(Number(a), Number(b) + 1);
    if (delayMs > 0) await new Promise((r) => setTimeout(r, delayMs));
    return { Body: Readable.from([slice]), ContentLength: slice.length };
  });
  s3Mock.on(DeleteObjectCommand).resolves({});
}

const claimWith = (item: Record<string, unknown>) => ddbMock.on(UpdateCommand, { ReturnValues: 'ALL_NEW' }).resolves({ Attributes: item });

const s3Event: S3Event = objectCreated('bucket', key, 0, 'etag-1');
const continuation = { source: 'image-service.hash', upload_id: uploadId };

beforeEach(() => {
  ddbMock.reset();
  s3Mock.reset();
  lambdaMock.reset();
  lambdaMock.on(InvokeCommand).resolves({ StatusCode: 202 });
});

describe('the hasher across invocations', () => {
  it('stops at its deadline with its state saved, under its lease, and invokes itself to go on', async () => {
    const data = Buffer.alloc(64 * 1024 * 1024, 7);
    const item = session({ size: data.length });
    ddbMock.on(GetCommand).resolves({ Item: item });
    claimWith({ ...item, lease_owner: 'x' });
    ddbMock.on(UpdateCommand, { ConditionExpression: '#state = :hashing AND #owner = :owner' }).resolves({});
    serve(data, 150);

    const context = lambdaContext('image-service-hasher', 1_500);
    const outcomes = await hasher(s3Event, context);

    expect(outcomes).toEqual(['continued']);
    const saves = ddbMock.commandCalls(UpdateCommand, { ConditionExpression: '#state = :hashing AND #owner = :owner' });
    const last = saves.at(-1)?.args[0].input;
    const offset = last?.ExpressionAttributeValues?.[':offset'] as number;
    expect(offset).toBeGreaterThan(0);
    expect(offset).toBeLessThan(data.length);
    expect(last?.ExpressionAttributeValues?.[':owner']).toBe(context.awsRequestId);
    expect(last?.ExpressionAttributeValues?.[':hstate']).toBeInstanceOf(Uint8Array);
    // The lease is given up with the save, so the next run may start at once.
    expect(last?.UpdateExpression).toMatch(/REMOVE #redrives, #owner, #until/);
    expect(lambdaMock).toHaveReceivedCommandWith(InvokeCommand, { FunctionName: 'image-service-hasher', InvocationType: 'Event' });
    const payload = lambdaMock.commandCalls(InvokeCommand)[0]?.args[0].input.Payload as Uint8Array;
    expect(JSON.parse(Buffer.from(payload).toString())).toEqual(continuation);
    expect(ddbMock).not.toHaveReceivedCommand(TransactWriteCommand);
  });

  it("resumes from a saved state at its offset and switches the content to the whole object's sha1", async () => {
    const data = Buffer.from(Array.from({ length: 3 * 1024 * 1024 + 17 }, (_, i) => (i * 31) % 251));
    const offset = 1024 * 1024 + 5;
    const partial = await createSHA1();
    partial.init();
    partial.update(data.subarray(0, offset));
    const item = session({ size: data.length, hash_offset: offset, hash_state: partial.save() });
    // Anything else read (the checksum entry of identical content) is absent.
    ddbMock.on(GetCommand).resolves({});
    ddbMock.on(GetCommand, { Key: keys.upload(uploadId) }).resolves({ Item: item });
    ddbMock.on(GetCommand, { Key: keys.image(imageUid) }).resolves({
      Item: { ...keys.image(imageUid), kind: 'image', uid: imageUid, name: 'img', frozen: false, version: 3 },
    });
    claimWith(item);
    ddbMock.on(TransactWriteCommand).resolves({});
    serve(data);

    const outcomes = await hasher(continuation, lambdaContext('image-service-hasher', 60_000));

    expect(outcomes).toEqual(['ready']);
    const ranges = s3Mock.commandCalls(GetObjectCommand).map((c) => c.args[0].input.Range);
    expect(ranges[0]).toBe(`bytes=${offset}-${offset + 1024 * 1024 - 1}`);
    const items = ddbMock.commandCalls(TransactWriteCommand)[0]?.args[0].input.TransactItems ?? [];
    const file = items.map((t) => t.Put?.Item).find((i) => i?.['kind'] === 'file');
    expect(file).toMatchObject({ chksum: `sha1:${createHash('sha1').update(data).digest('hex')}`, size: data.length });
  });

  it('hands a native run that runs out of time to a resumable run from byte 0', async () => {
    const data = Buffer.alloc(8 * 1024 * 1024, 1);
    const item = session({ size: data.length });
    ddbMock.on(GetCommand).resolves({ Item: item });
    claimWith(item);
    ddbMock.on(UpdateCommand, { ConditionExpression: '#state = :hashing AND #owner = :owner' }).resolves({});
    // Each range arrives after the deadline: the native hash cannot save what it got.
    serve(data, 5_000);

    const outcomes = await hasher(s3Event, lambdaContext('image-service-hasher', 1_200));

    expect(outcomes).toEqual(['continued']);
    expect(ddbMock).toHaveReceivedCommandWith(UpdateCommand, {
      ConditionExpression: '#state = :hashing AND #owner = :owner',
      ExpressionAttributeValues: expect.objectContaining({ ':offset': 0, ':true': true }),
    });
    expect(lambdaMock).toHaveReceivedCommandTimes(InvokeCommand, 1);
  });

  it('leaves a session another run holds alone: a duplicate event hashes nothing', async () => {
    ddbMock.on(GetCommand).resolves({ Item: session({ size: 10, lease_owner: 'other-run', lease_until: Date.now() + 60_000 }) });
    ddbMock.on(UpdateCommand, { ReturnValues: 'ALL_NEW' }).rejects(new ConditionalCheckFailedException({ message: 'held', $metadata: {} }));

    const outcomes = await hasher(s3Event, lambdaContext('image-service-hasher', 60_000));

    expect(outcomes).toEqual(['busy']);
    expect(ddbMock).toHaveReceivedCommandWith(UpdateCommand, {
      ConditionExpression: '#state = :hashing AND (attribute_not_exists(#until) OR #until < :now OR #owner = :owner)',
    });
    expect(s3Mock).not.toHaveReceivedCommand(GetObjectCommand);
    expect(lambdaMock).not.toHaveReceivedCommand(InvokeCommand);
  });

  it('never lets an older upload replace content a later one put in place', async () => {
    const data = Buffer.from('older bytes');
    const item = session({ size: data.length, completed_at: 1_700_000_000_000 });
    ddbMock.on(GetCommand, { Key: keys.upload(uploadId) }).resolves({ Item: item });
    ddbMock.on(GetCommand, { Key: keys.image(imageUid) }).resolves({
      Item: {
        ...keys.image(imageUid),
        kind: 'image',
        uid: imageUid,
        name: 'img',
        frozen: false,
        version: 9,
        file_uid: 'aaaabbbbccccddddeeeeffff00001111',
        content_order: `${String(1_700_000_500_000).padStart(15, '0')}#aaaabbbbccccddddeeeeffff00001111`,
      },
    });
    claimWith(item);
    ddbMock.on(UpdateCommand, { ConditionExpression: '#state = :from' }).resolves({});
    serve(data);

    const outcomes = await hasher(s3Event, lambdaContext('image-service-hasher', 60_000));

    expect(outcomes).toEqual(['failed']);
    expect(ddbMock).toHaveReceivedCommandWith(UpdateCommand, {
      ConditionExpression: '#state = :from',
      ExpressionAttributeValues: expect.objectContaining({ ':to': 'failed', ':reason': expect.stringMatching(/superseded/) }),
    });
    expect(ddbMock).not.toHaveReceivedCommand(TransactWriteCommand);
    expect(s3Mock).toHaveReceivedCommandWith(DeleteObjectCommand, { Key: key });
  });
});
