/**
 * A presigned URL dies with the credentials that signed it. With credentials
 * that expire soon (a credentials provider reporting an expiration, as role
 * credentials do), the URLs' X-Amz-Expires and the `expires` the API returns
 * are both cut to that expiry, for downloads and for upload part URLs alike.
 * The local S3 checks no signatures, so only a unit test can show this.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { ListPartsCommand, S3Client } from '@aws-sdk/client-s3';
import { DynamoDBDocumentClient, GetCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { apiEvent, context, route } from './events.js';
import { contentHandler, uploadItem } from './fixtures.js';
import { contentKey, keys } from '../../functions/core/db/schema.js';

const ddbMock = mockClient(DynamoDBDocumentClient);
mockClient(DynamoDBClient);
// Only send() is mocked: presigning runs the real signer with the real credential provider.
const s3Mock = mockClient(S3Client);

let content: typeof import('../../functions/content.js').handler;

/** The presigning client the service gets: signed by credentials whose expiry each test chooses. */
let presignClient: S3Client | undefined;
vi.mock('../../functions/core/clients.js', async (importOriginal) => ({
  ...(await importOriginal<typeof import('../../functions/core/clients.js')>()),
  presignS3: () => {
    if (!presignClient) throw new Error('the test chose no credentials');
    return presignClient;
  },
}));

const credentialsExpireIn = (seconds: number | undefined): void => {
  presignClient = new S3Client({
    region: 'eu-west-1',
    requestChecksumCalculation: 'WHEN_REQUIRED',
    credentials: async () => ({
      accessKeyId: 'ASIAEXAMPLEEXAMPLE00',
      secretAccessKey: 'secret',
      sessionToken: 'session-token',
      ...(seconds === undefined ? {} : { expiration: new Date(Date.now() + seconds * 1000) }),
    }),
  });
};

const CONFIGURED = 3600;
const uid = '0123456789abcdef0123456789abcdef';
const fileUid = 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa';
const uploadId = 'fedcba9876543210fedcba9876543210';

beforeAll(async () => {
  content = await contentHandler({ UPLOAD_URL_EXPIRY_SECONDS: String(CONFIGURED) });
});

beforeEach(() => {
  ddbMock.reset();
  s3Mock.reset();
  ddbMock.on(GetCommand, { Key: keys.image(uid) }).resolves({
    Item: { ...keys.image(uid), kind: 'image', uid, name: 'img', frozen: false, version: 1, file_uid: fileUid },
  });
  ddbMock.on(GetCommand, { Key: keys.file(fileUid) }).resolves({
    Item: {
      ...keys.file(fileUid),
      kind: 'file',
      uid: fileUid,
      key: contentKey(fileUid),
      fmt: 'cwsquash',
      size: 10,
      mtime: 1,
      chksum: 'sha1:0000000000000000000000000000000000000000',
      refcnt: 1,
      state: 'live',
    },
  });
  ddbMock.on(GetCommand, { Key: keys.upload(uploadId) }).resolves({
    Item: uploadItem(uploadId, uid),
  });
  s3Mock.on(ListPartsCommand).resolves({ Parts: [] });
});

interface Answer<T> {
  status: number | undefined;
  data: T;
  reason?: string;
}
async function call<T>(event: ReturnType<typeof apiEvent>): Promise<Answer<T>> {
  const result = await content(event, context());
  const body = JSON.parse(result.body ?? '{}') as { data: T; reason?: string };
  return { status: result.statusCode, data: body.data, ...(body.reason ? { reason: body.reason } : {}) };
}

const download = () => {
  const event = apiEvent(route('GET', '/image/{id}/content'), { params: { id: uid } });
  event.queryStringParameters = { redirect: 'false' };
  event.rawQueryString = 'redirect=false';
  return call<{ url: string; expires: number }>(event);
};
const resume = () =>
  call<{ parts: { part_number: number; url: string }[]; expires: number }>(
    apiEvent(route('GET', '/image/{id}/content/upload/{upload_id}'), { params: { id: uid, upload_id: uploadId } }),
  );

const amzExpires = (url: string): number => Number(new URL(url).searchParams.get('X-Amz-Expires'));
const nowSeconds = (): number => Math.floor(Date.now() / 1000);

describe('URL lifetimes follow the signing credentials', () => {
  it('a download URL from credentials that expire in 5 minutes lives 5 minutes, and says so', async () => {
    credentialsExpireIn(300);
    const before = nowSeconds();
    const { status, data } = await download();
    expect(status).toBe(200);
    const seconds = amzExpires(data.url);
    expect(seconds).toBeGreaterThan(290);
    expect(seconds).toBeLessThanOrEqual(300);
    // expires is the URL's real end, not now + the configured hour: at most its X-Amz-Date
    // plus X-Amz-Expires (signing may tick into the next second), and no later than the credentials.
    expect(data.expires).toBeGreaterThanOrEqual(before + seconds);
    expect(data.expires).toBeLessThanOrEqual(nowSeconds() + 300);
    const signed = new URL(data.url).searchParams.get('X-Amz-Date') ?? '';
    const signedAt = Date.parse(signed.replace(/^(\d{4})(\d\d)(\d\d)T(\d\d)(\d\d)(\d\d)Z$/, '$1-$2-$3T$4:$5:$6Z')) / 1000;
    expect(data.expires).toBeLessThanOrEqual(signedAt + seconds);
    expect(data.expires).toBeGreaterThanOrEqual(signedAt + seconds - 1);
  });

  it('part URLs of an upload are cut the same way, all with the one expires', async () => {
    credentialsExpireIn(300);
    const { status, data } = await resume();
    expect(status).toBe(200);
    expect(data.parts.map((p) => p.part_number)).toEqual([1, 2]);
    const lifetimes = new Set(data.parts.map((p) => amzExpires(p.url)));
    expect(lifetimes.size).toBe(1);
    const [seconds = 0] = [...lifetimes];
    expect(seconds).toBeLessThanOrEqual(300);
    expect(seconds).toBeGreaterThan(290);
    expect(data.expires).toBeLessThanOrEqual(nowSeconds() + 300);
  });

  it('credentials about to expire give no URL that would die at once: 503, retry', async () => {
    credentialsExpireIn(20);
    const answer = await download();
    expect(answer.status).toBe(503);
    expect(answer.reason).toMatch(/retry/);
  });

  it('credentials that outlive the configured lifetime leave it as configured', async () => {
    credentialsExpireIn(6 * 3600);
    const { data } = await download();
    expect(amzExpires(data.url)).toBe(CONFIGURED);
    expect(data.expires).toBeGreaterThanOrEqual(nowSeconds() + CONFIGURED - 5);
  });

  it('credentials with no known expiry: the configured lifetime', async () => {
    credentialsExpireIn(undefined);
    const { data } = await resume();
    expect(data.parts.every((p) => amzExpires(p.url) === CONFIGURED)).toBe(true);
    expect(data.expires).toBeLessThanOrEqual(nowSeconds() + CONFIGURED);
    expect(data.expires).toBeGreaterThanOrEqual(nowSeconds() + CONFIGURED - 5);
  });
});
