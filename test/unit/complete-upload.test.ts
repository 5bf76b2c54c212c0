/**
 * Completing an upload when S3 fails in ways the local S3 never does: a 5xx
 * or lost answer may hide a completion that happened. The session must not go
 * back to `uploading` then, or the hasher's event would be ignored.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { CompleteMultipartUploadCommand, ListPartsCommand, NoSuchUpload, S3Client, S3ServiceException } from '@aws-sdk/client-s3';
import { DynamoDBDocumentClient, GetCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { apiEvent, context, route } from './events.js';
import { MiB, contentHandler, uploadItem } from './fixtures.js';
import { keys } from '../../functions/core/db/schema.js';

const ddbMock = mockClient(DynamoDBDocumentClient);
mockClient(DynamoDBClient);
const s3Mock = mockClient(S3Client);

let content: typeof import('../../functions/content.js').handler;

beforeAll(async () => {
  content = await contentHandler();
});

const uid = '0123456789abcdef0123456789abcdef';
const uploadId = 'fedcba9876543210fedcba9876543210';
const stored = {
  Parts: [
    { PartNumber: 1, ETag: '"e1"', Size: 5 * MiB },
    { PartNumber: 2, ETag: '"e2"', Size: 1 * MiB },
  ],
};

beforeEach(() => {
  ddbMock.reset();
  s3Mock.reset();
  ddbMock.on(GetCommand, { Key: keys.image(uid) }).resolves({
    Item: { ...keys.image(uid), kind: 'image', uid, name: 'img', frozen: false, version: 1 },
  });
  ddbMock.on(GetCommand, { Key: keys.upload(uploadId) }).resolves({
    Item: uploadItem(uploadId, uid, { expires_at: Date.now() / 1000 + 3600 }),
  });
  ddbMock.on(UpdateCommand).resolves({});
  s3Mock.on(ListPartsCommand).resolves(stored);
});

const complete = () =>
  content(
    apiEvent(route('POST', '/image/{id}/content/upload/{upload_id}'), {
      params: { id: uid, upload_id: uploadId },
      body: {
        parts: [
          { part_number: 1, etag: 'e1' },
          { part_number: 2, etag: '"e2"' },
        ],
      },
    }),
    context(),
  );

const s3Error = (name: string, status: number) =>
  new S3ServiceException({ name, $fault: status < 500 ? 'client' : 'server', $metadata: { httpStatusCode: status }, message: name });

describe('completing an upload', () => {
  it('claims the session, then completes it in S3', async () => {
    s3Mock.on(CompleteMultipartUploadCommand).resolves({});
    const result = await complete();
    expect(result.statusCode).toBe(202);
    expect(s3Mock).toHaveReceivedCommandWith(CompleteMultipartUploadCommand, {
      MultipartUpload: {
        Parts: [
          { PartNumber: 1, ETag: 'e1' },
          { PartNumber: 2, ETag: '"e2"' },
        ],
      },
    });
    expect(ddbMock).toHaveReceivedCommandWith(UpdateCommand, {
      ConditionExpression: '#state = :from',
      ExpressionAttributeValues: expect.objectContaining({ ':from': 'uploading', ':to': 'hashing' }),
    });
  });

  it('keeps the session hashing when S3 failed but the upload did complete', async () => {
    s3Mock.on(CompleteMultipartUploadCommand).rejects(s3Error('InternalError', 500));
    s3Mock
      .on(ListPartsCommand)
      .resolvesOnce(stored)
      .rejects(new NoSuchUpload({ message: 'gone', $metadata: { httpStatusCode: 404 } }));
    const result = await complete();
    expect(result.statusCode).toBe(202);
    expect(JSON.parse(result.body ?? '{}')).toMatchObject({ success: true, data: { state: 'hashing' } });
    // No transition back to uploading.
    const reverts = ddbMock.commandCalls(UpdateCommand).filter((c) => c.args[0].input.ExpressionAttributeValues?.[':to'] === 'uploading');
    expect(reverts).toHaveLength(0);
  });

  it('reopens the session and answers 503 when S3 failed and the upload is still open', async () => {
    s3Mock.on(CompleteMultipartUploadCommand).rejects(s3Error('InternalError', 500));
    const result = await complete();
    expect(result.statusCode).toBe(503);
    expect(ddbMock).toHaveReceivedCommandWith(UpdateCommand, {
      ExpressionAttributeValues: expect.objectContaining({ ':from': 'hashing', ':to': 'uploading' }),
    });
  });

  it('reopens the session and answers 400 with S3’s reason when S3 refuses', async () => {
    s3Mock.on(CompleteMultipartUploadCommand).rejects(s3Error('EntityTooSmall', 400));
    const result = await complete();
    expect(result.statusCode).toBe(400);
    expect(JSON.parse(result.body ?? '{}').reason).toMatch(/^S3 refused to complete the upload: EntityTooSmall/);
    expect(ddbMock).toHaveReceivedCommandWith(UpdateCommand, {
      ExpressionAttributeValues: expect.objectContaining({ ':to': 'uploading' }),
    });
  });
});
