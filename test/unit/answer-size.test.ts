/**
 * Answers that grow with the data fit in a Lambda response (6 MB, counted as
 * the JSON of the returned object), with URLs as AWS really signs them: role
 * credentials carry a session token, which makes every presigned URL over
 * 1 KB. The worst cases: a 5 TiB upload (10,000 parts) started or resumed
 * with most parts done, and a download split into the most ranges allowed.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { CreateMultipartUploadCommand, ListPartsCommand, S3Client } from '@aws-sdk/client-s3';
import { DynamoDBDocumentClient, GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeAll, describe, expect, it, vi } from 'vitest';
import { LAMBDA_MAX_RESPONSE_BYTES, lambdaPayloadBytes } from '../../functions/http/envelope.js';
import { MAX_OBJECT_SIZE, MAX_PARTS, URLS_PER_CALL } from '../../functions/core/uploads/model.js';
import { apiEvent, context, route } from './events.js';
import { imageItem, uploadItem, useHandlerEnv } from './fixtures.js';
import { keys } from '../../functions/core/db/schema.js';

const ddbMock = mockClient(DynamoDBDocumentClient);
mockClient(DynamoDBClient);
const s3Mock = mockClient(S3Client);

// Session tokens of Lambda role credentials run to well over 1,000 characters; take 1,400 of base64.
const SESSION_TOKEN = 'IQoJb3JpZ2luX2VjE+/='.repeat(70);
const UPLOAD_ID = 'x'.repeat(256);
const imageUid = '0123456789abcdef0123456789abcdef';
const fileUid = 'fedcba9876543210fedcba9876543210';
const uploadUid = 'aaaabbbbccccddddeeeeffff00001111';

let content: typeof import('../../functions/content.js').handler;

beforeAll(async () => {
  useHandlerEnv({
    // The longest bucket name S3 allows.
    BUCKET_NAME: 'b'.repeat(63),
    AWS_REGION: 'eu-west-1',
    AWS_ACCESS_KEY_ID: 'ASIAEXAMPLEEXAMPLE12',
    AWS_SECRET_ACCESS_KEY: 'secret',
    AWS_SESSION_TOKEN: SESSION_TOKEN,
  });
  delete process.env['AWS_ENDPOINT_URL_S3'];
  ({ handler: content } = await import('../../functions/content.js'));
});

const image = imageItem(imageUid, {
  file_uid: fileUid,
  content: {
    cwsquash: { size: MAX_OBJECT_SIZE, mtime: 1, chksum: `sha1:${'a'.repeat(40)}`, filename: fileUid, uid: fileUid },
    last_modified: 1,
    last_modified_by: 'a',
    last_modified_on: 'eu-west-1',
  },
});

function mockItems(extra: Record<string, unknown> = {}): void {
  ddbMock.reset();
  s3Mock.reset();
  const items: Record<string, unknown> = { [image.pk]: image, ...extra };
  ddbMock.on(GetCommand).callsFake((input: { Key: { pk: string } }) => ({ Item: items[input.Key.pk] }));
  ddbMock.on(PutCommand).resolves({});
  s3Mock.on(CreateMultipartUploadCommand).resolves({ UploadId: UPLOAD_ID });
}

function measure(result: Awaited<ReturnType<typeof content>>) {
  const body = JSON.parse(result.body ?? '{}') as { data: { parts?: { url?: string }[]; parts_done?: unknown[] } };
  return { status: result.statusCode, bytes: lambdaPayloadBytes(result), data: body.data };
}

describe('answers fit in a Lambda response', () => {
  it('a 10,000-part upload starts with at most URLS_PER_CALL part URLs, each over 1 KB, within 6 MB', async () => {
    mockItems();
    const event = apiEvent(route('PUT', '/image/{id}/content'), { params: { id: imageUid }, body: { size: MAX_OBJECT_SIZE } });
    const { status, bytes, data } = measure(await content(event, context()));
    expect(status).toBe(201);
    expect(data.parts).toHaveLength(URLS_PER_CALL);
    expect(data.parts![0]!.url!.length).toBeGreaterThan(1400);
    expect(data.parts![0]!.url).toContain('X-Amz-Security-Token=');
    expect(bytes).toBeLessThan(LAMBDA_MAX_RESPONSE_BYTES);
  });

  it('resuming it with 9,000 parts done lists them all and the 1,000 missing URLs, within 6 MB', async () => {
    const upload = uploadItem(uploadUid, imageUid, {
      s3_upload_id: UPLOAD_ID,
      size: MAX_OBJECT_SIZE,
      part_size: Math.ceil(MAX_OBJECT_SIZE / MAX_PARTS),
      part_count: MAX_PARTS,
    });
    mockItems({ [upload.pk]: upload });
    // S3 lists 1,000 parts a page; the ETag of a part is a quoted MD5.
    s3Mock.on(ListPartsCommand).callsFake((input: { PartNumberMarker?: string }) => {
      const from = Number(input.PartNumberMarker ?? 0);
      const to = Math.min(from + 1000, 9000);
      return {
        Parts: Array.from({ length: to - from }, (_, i) => ({
          PartNumber: from + i + 1,
          Size: upload.part_size,
          ETag: `"${'e'.repeat(32)}"`,
        })),
        IsTruncated: to < 9000,
        NextPartNumberMarker: String(to),
      };
    });
    const event = apiEvent(route('GET', '/image/{id}/content/upload/{upload_id}'), { params: { id: imageUid, upload_id: uploadUid } });
    const { status, bytes, data } = measure(await content(event, context()));
    expect(status).toBe(200);
    expect(data.parts_done).toHaveLength(9000);
    expect(data.parts).toHaveLength(1000);
    expect(bytes).toBeLessThan(LAMBDA_MAX_RESPONSE_BYTES);
  });

  it('with a session token several times longer, fewer URLs come back, still within 6 MB', async () => {
    vi.resetModules();
    process.env['AWS_SESSION_TOKEN'] = SESSION_TOKEN.repeat(5);
    const { handler } = await import('../../functions/content.js');
    try {
      mockItems();
      const event = apiEvent(route('PUT', '/image/{id}/content'), { params: { id: imageUid }, body: { size: MAX_OBJECT_SIZE } });
      const { status, bytes, data } = measure(await handler(event, context()));
      expect(status).toBe(201);
      expect(data.parts!.length).toBeGreaterThan(100);
      expect(data.parts!.length).toBeLessThan(URLS_PER_CALL);
      expect(data.parts!.map((p) => (p as { part_number: number }).part_number)).toEqual(data.parts!.map((_, i) => i + 1));
      expect(bytes).toBeLessThan(LAMBDA_MAX_RESPONSE_BYTES);
    } finally {
      process.env['AWS_SESSION_TOKEN'] = SESSION_TOKEN;
    }
  });

  it('a download in the most ranges allowed carries one URL, within 6 MB', async () => {
    mockItems();
    const event = apiEvent(route('GET', '/image/{id}/content'), { params: { id: imageUid } });
    event.queryStringParameters = { parts: '1000' };
    const { status, bytes, data } = measure(await content(event, context()));
    expect(status).toBe(200);
    expect(data.parts).toHaveLength(1000);
    expect(bytes).toBeLessThan(LAMBDA_MAX_RESPONSE_BYTES);
    // One read: the image record carries what the download needs.
    expect(ddbMock.commandCalls(GetCommand)).toHaveLength(1);
  });

  it('a download link by name costs two reads (the name guard, the record), by UID one', async () => {
    for (const [id, reads] of [
      ['base', 2],
      [imageUid, 1],
    ] as const) {
      mockItems({ [keys.name('base').pk]: { ...keys.name('base'), kind: 'name', uid: imageUid } });
      const event = apiEvent(route('GET', '/image/{id}/content'), { params: { id } });
      event.queryStringParameters = { redirect: 'false' };
      expect((await content(event, context())).statusCode).toBe(200);
      expect(ddbMock.commandCalls(GetCommand)).toHaveLength(reads);
    }
  });
});
