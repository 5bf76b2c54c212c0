/**
 * The hasher knows its deadline: an object too large to hash before the
 * Lambda times out ends its session `failed`, saying so, and its object is
 * deleted, rather than the function timing out mid-hash and retrying forever.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DeleteObjectCommand, GetObjectCommand, HeadObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { DynamoDBDocumentClient, GetCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { S3Event } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeAll, describe, expect, it } from 'vitest';
import { lambdaContext } from '../../local/lambda-context.js';
import { objectCreated } from './events.js';
import { contentKey, keys } from '../../functions/core/db/schema.js';

const ddbMock = mockClient(DynamoDBDocumentClient);
mockClient(DynamoDBClient);
const s3Mock = mockClient(S3Client);

let hasher: (event: S3Event, context: ReturnType<typeof lambdaContext>) => Promise<string[]>;

beforeAll(async () => {
  Object.assign(process.env, {
    TABLE_NAME: 'images',
    BUCKET_NAME: 'bucket',
    SITE_NAME: 'eu-west-1',
    POWERTOOLS_LOG_LEVEL: 'SILENT',
    POWERTOOLS_METRICS_DISABLED: 'true',
  });
  ({ handler: hasher } = (await import('../../functions/hasher.js')) as unknown as { handler: typeof hasher });
});

const uploadId = 'fedcba9876543210fedcba9876543210';
const size = 50 * 1024 ** 3;

const event = objectCreated('bucket', contentKey(uploadId), size, 'abc-800');

describe('the hasher near its deadline', () => {
  it('fails the session with a reason and deletes the object, without reading it', async () => {
    ddbMock.on(GetCommand).resolves({
      Item: {
        ...keys.upload(uploadId),
        kind: 'upload',
        upload_id: uploadId,
        image_uid: '0123456789abcdef0123456789abcdef',
        key: contentKey(uploadId),
        state: 'hashing',
        size,
      },
    });
    ddbMock.on(UpdateCommand).resolves({});
    s3Mock.on(HeadObjectCommand).resolves({ ContentLength: size, ETag: '"abc-800"', LastModified: new Date() });
    s3Mock.on(DeleteObjectCommand).resolves({});

    // Three seconds left: less than the margin the hasher keeps to record its outcome.
    const outcomes = await hasher(event, lambdaContext('image-service-hasher', 3_000));

    expect(outcomes).toEqual(['failed']);
    expect(ddbMock).toHaveReceivedCommandWith(UpdateCommand, {
      ConditionExpression: '#state = :from',
      ExpressionAttributeValues: expect.objectContaining({
        ':from': 'hashing',
        ':to': 'failed',
        ':reason': expect.stringMatching(/too large to hash before the Lambda timeout/),
      }),
    });
    expect(s3Mock).toHaveReceivedCommandWith(DeleteObjectCommand, { Bucket: 'bucket', Key: contentKey(uploadId) });
    expect(s3Mock).not.toHaveReceivedCommand(GetObjectCommand);
  });
});
