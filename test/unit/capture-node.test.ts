/**
 * A node's requests on its capture job, authorizer and handler together as
 * API Gateway chains them: the authorizer's context carries what the handler
 * needs of the job (its image, who started it, its upload), so the job is
 * read once per request, by the authorizer; the handler reads it again only
 * when its record is the answer (the status) or to say why a write was refused.
 */
import { ConditionalCheckFailedException, DynamoDBClient, GetItemCommand, type AttributeValue } from '@aws-sdk/client-dynamodb';
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  ListPartsCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import { DynamoDBDocumentClient, GetCommand, PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { CaptureContext } from '../../functions/core/capture/authorize.js';
import { formatCredential, newSecret, secretHash } from '../../functions/core/capture/credential.js';
import { keys, type CaptureItem } from '../../functions/core/db/schema.js';
import { apiEvent, context, route } from './events.js';
import { contentHandler, imageItem, MiB, uploadItem } from './fixtures.js';

const ddbMock = mockClient(DynamoDBDocumentClient);
// The authorizer's raw client.
const rawMock = mockClient(DynamoDBClient);
const s3Mock = mockClient(S3Client);

let content: typeof import('../../functions/content.js').handler;
let authorizer: typeof import('../../functions/capture-authorizer.js').handler;

beforeAll(async () => {
  delete process.env['AWS_ENDPOINT_URL_S3'];
  // Start answers carry presigned part URLs: the signer needs some credentials.
  content = await contentHandler({ AWS_REGION: 'eu-west-1', AWS_ACCESS_KEY_ID: 'AKIAEXAMPLEEXAMPLE12', AWS_SECRET_ACCESS_KEY: 'secret' });
  ({ handler: authorizer } = await import('../../functions/capture-authorizer.js'));
});

const imageUid = '0123456789abcdef0123456789abcdef';
const captureId = 'c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0';
const uploadId = 'fedcba9876543210fedcba9876543210';
const olderUpload = 'aaaabbbbccccddddeeeeffff00001111';
const secret = newSecret();
const credential = formatCredential(captureId, secret);

const job = (fields: Partial<CaptureItem> = {}): CaptureItem => ({
  ...keys.capture(captureId),
  kind: 'capture',
  capture_id: captureId,
  image_uid: imageUid,
  node: 'node0001',
  exclude: [],
  state: 'uploading',
  upload_id: uploadId,
  secret_sha256: secretHash(secret),
  credential_expires: Math.floor(Date.now() / 1000) + 3600,
  created_at: 1,
  created_by: 'admin1',
  created_on: 'eu-west-1',
  expires_at: Math.floor(Date.now() / 1000) + 86_400,
  gsi1pk: `CAPTURES#${imageUid}`,
  gsi1sk: '1',
  ...fields,
});

/** The table as both clients see it, by pk. */
let items: Record<string, object>;

/** The item as the raw client returns it (strings, numbers, booleans and string lists are all a job has). */
function attributes(item: object): Record<string, AttributeValue> {
  const out: Record<string, AttributeValue> = {};
  for (const [k, v] of Object.entries(item)) {
    if (typeof v === 'string') out[k] = { S: v };
    else if (typeof v === 'number') out[k] = { N: String(v) };
    else if (typeof v === 'boolean') out[k] = { BOOL: v };
    else if (Array.isArray(v)) out[k] = { L: v.map((s) => ({ S: String(s) })) };
  }
  return out;
}

beforeEach(() => {
  ddbMock.reset();
  rawMock.reset();
  s3Mock.reset();
  items = {
    [keys.image(imageUid).pk]: imageItem(imageUid),
    [keys.capture(captureId).pk]: job(),
    [keys.upload(uploadId).pk]: uploadItem(uploadId, imageUid),
    [keys.upload(olderUpload).pk]: uploadItem(olderUpload, imageUid),
  };
  ddbMock.on(GetCommand).callsFake((input: { Key: { pk: string } }) => ({ Item: items[input.Key.pk] }));
  rawMock.on(GetItemCommand).callsFake((input: { Key: { pk: { S: string } } }) => {
    const item = items[input.Key.pk.S];
    return { Item: item && attributes(item) };
  });
  ddbMock.on(PutCommand).callsFake((input: { Item: { pk: string } }) => {
    items[input.Item.pk] = input.Item;
    return {};
  });
  ddbMock.on(UpdateCommand).resolves({});
  s3Mock.on(CreateMultipartUploadCommand).resolves({ UploadId: 's3-upload' });
  s3Mock.on(AbortMultipartUploadCommand).resolves({});
  s3Mock.on(CompleteMultipartUploadCommand).resolves({});
  s3Mock.on(ListPartsCommand).resolves({
    Parts: [
      { PartNumber: 1, ETag: '"e1"', Size: 5 * MiB },
      { PartNumber: 2, ETag: '"e2"', Size: 1 * MiB },
    ],
  });
});

const refused = () => Promise.reject(new ConditionalCheckFailedException({ message: 'The conditional request failed', $metadata: {} }));

/** The reads of the job, by either client. */
const jobReads = (): number =>
  rawMock.commandCalls(GetItemCommand).filter((c) => c.args[0].input.Key?.['pk']?.S === keys.capture(captureId).pk).length +
  ddbMock.commandCalls(GetCommand).filter((c) => c.args[0].input.Key?.['pk'] === keys.capture(captureId).pk).length;

/**
 * One node request: the authorizer, then (allowed) the handler with the authorizer's context, as
 * API Gateway runs them. `earlierContext` hands over only what an authorizer of an earlier release
 * did (the job and its image), as during a deploy that has updated the content function first.
 */
async function nodeRequest(method: string, path: string, options: { upload?: string; body?: unknown; earlierContext?: boolean } = {}) {
  const routeKey = route(method, path);
  const params = { capture_id: captureId, ...(options.upload !== undefined ? { upload_id: options.upload } : {}) };
  const verdict = await authorizer({ routeKey, headers: { authorization: `Capture ${credential}` }, pathParameters: params });
  expect(verdict.isAuthorized).toBe(true);
  const event = apiEvent(routeKey, { params, ...(options.body !== undefined ? { body: options.body } : {}) });
  const { capture_id, image_uid } = verdict.context ?? {};
  event.requestContext.authorizer = { lambda: options.earlierContext ? { capture_id, image_uid } : verdict.context };
  const result = await content(event, context());
  return { status: result.statusCode, body: JSON.parse(result.body ?? '{}') as { reason?: string; data?: Record<string, unknown> } };
}

const start = () => nodeRequest('PUT', '/capture/{capture_id}/content', { body: { size: 6 * MiB } });
const describeUpload = (upload = uploadId) => nodeRequest('GET', '/capture/{capture_id}/content/upload/{upload_id}', { upload });
const abort = (upload = uploadId) => nodeRequest('DELETE', '/capture/{capture_id}/content/upload/{upload_id}', { upload });
const complete = (upload = uploadId) =>
  nodeRequest('POST', '/capture/{capture_id}/content/upload/{upload_id}', {
    upload,
    body: {
      parts: [
        { part_number: 1, etag: 'e1' },
        { part_number: 2, etag: 'e2' },
      ],
    },
  });

describe("a node's requests on its capture job", () => {
  it("the authorizer's context names the job, its image, who started it and its upload", async () => {
    const verdict = await authorizer({
      routeKey: route('GET', '/capture/{capture_id}'),
      headers: { authorization: `Capture ${credential}` },
      pathParameters: { capture_id: captureId },
    });
    const expected: CaptureContext = {
      capture_id: captureId,
      image_uid: imageUid,
      created_by: 'admin1',
      created_on: 'eu-west-1',
      upload_id: uploadId,
    };
    expect(verdict).toEqual({ isAuthorized: true, context: expected });
  });

  it('the upload routes read the job once, in the authorizer; the status, whose answer is the job, twice', async () => {
    const counts: Record<string, number> = {};
    const reads = async (name: string, request: () => Promise<{ status: number | undefined }>, status: number) => {
      ddbMock.resetHistory();
      rawMock.resetHistory();
      expect((await request()).status, name).toBe(status);
      counts[name] = jobReads();
    };
    await reads('describe', () => describeUpload(), 200);
    await reads('complete', () => complete(), 202);
    await reads('abort', () => abort(), 200);
    items[keys.capture(captureId).pk] = job({ state: 'pending', upload_id: undefined });
    await reads('start', start, 201);
    await reads('status', () => nodeRequest('GET', '/capture/{capture_id}'), 200);
    expect(counts).toEqual({ describe: 1, complete: 1, abort: 1, start: 1, status: 2 });
  });

  it('start: the upload the conditional write replaced is aborted, and the new one is started in the name of who started the job', async () => {
    ddbMock
      .on(UpdateCommand, { Key: keys.capture(captureId), ReturnValues: 'UPDATED_OLD' })
      .resolves({ Attributes: { state: 'uploading', upload_id: olderUpload } });
    const res = await start();
    expect(res.status).toBe(201);
    expect(ddbMock).toHaveReceivedCommandWith(UpdateCommand, {
      Key: keys.capture(captureId),
      ConditionExpression: '#state IN (:from0, :from1)',
      ExpressionAttributeValues: expect.objectContaining({
        ':from0': 'pending',
        ':from1': 'uploading',
        ':upload_id': res.body.data?.['upload_id'],
      }),
    });
    expect(ddbMock).toHaveReceivedCommandWith(PutCommand, {
      Item: expect.objectContaining({ started_by: 'admin1', started_on: 'eu-west-1' }),
    });
    expect(ddbMock).toHaveReceivedCommandWith(UpdateCommand, {
      Key: keys.upload(olderUpload),
      ExpressionAttributeValues: expect.objectContaining({ ':to': 'aborted' }),
    });
  });

  it('start refused by the job (revoked since the authorizer read it): the new upload is aborted, and the answer says why', async () => {
    ddbMock.on(UpdateCommand, { Key: keys.capture(captureId) }).callsFake(() => {
      items[keys.capture(captureId).pk] = job({ state: 'failed', reason: 'revoked by admin1', revoked: true });
      return refused();
    });
    const res = await start();
    expect(res).toMatchObject({ status: 409, body: { reason: `capture ${captureId} is failed (revoked by admin1)` } });
    expect(s3Mock).toHaveReceivedCommandTimes(AbortMultipartUploadCommand, 1);
  });

  it('complete refused by the job: 404 if the upload is no longer its, else 409 (the job read only then)', async () => {
    ddbMock.on(UpdateCommand, { Key: keys.capture(captureId) }).callsFake(() => {
      items[keys.capture(captureId).pk] = job({ upload_id: olderUpload });
      return refused();
    });
    expect(await complete()).toMatchObject({ status: 404, body: { reason: `no upload "${uploadId}" for capture ${captureId}` } });

    ddbMock.on(UpdateCommand, { Key: keys.capture(captureId) }).callsFake(refused);
    items[keys.capture(captureId).pk] = job();
    rawMock.resetHistory();
    ddbMock.resetHistory();
    expect(await complete()).toMatchObject({
      status: 409,
      body: { reason: `capture ${captureId} is no longer uploading upload ${uploadId}; it cannot be completed` },
    });
    expect(jobReads()).toBe(2);
    expect(s3Mock).not.toHaveReceivedCommand(CompleteMultipartUploadCommand);
  });

  it("an earlier release's authorizer context (the job and its image only) still serves: the job is read for the rest", async () => {
    items[keys.capture(captureId).pk] = job({ state: 'pending', upload_id: undefined });
    const started = await nodeRequest('PUT', '/capture/{capture_id}/content', { body: { size: 6 * MiB }, earlierContext: true });
    expect(started.status).toBe(201);
    expect(ddbMock).toHaveReceivedCommandWith(PutCommand, {
      Item: expect.objectContaining({ started_by: 'admin1', started_on: 'eu-west-1' }),
    });
    items[keys.capture(captureId).pk] = job();
    const described = await nodeRequest('GET', '/capture/{capture_id}/content/upload/{upload_id}', {
      upload: uploadId,
      earlierContext: true,
    });
    expect(described.status).toBe(200);
  });

  it("an upload that is not the job's is not found, as the job now stands", async () => {
    expect(await describeUpload(olderUpload)).toMatchObject({
      status: 404,
      body: { reason: `no upload "${olderUpload}" for capture ${captureId}` },
    });
    expect(await abort(olderUpload)).toMatchObject({ status: 404 });
    expect(s3Mock).not.toHaveReceivedCommand(AbortMultipartUploadCommand);
  });
});
