/**
 * The sweeper finishes clean-ups that failed after their transaction: a file
 * whose last reference was released but whose object is still in S3.
 */
import { HeadObjectCommand, NotFound } from '@aws-sdk/client-s3';
import { AbortMultipartUploadCommand, ListPartsCommand, NoSuchUpload } from '@aws-sdk/client-s3';
import { GetCommand, TransactWriteCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { Context } from 'aws-lambda';
import { beforeAll, describe, expect, it } from 'vitest';
import type { SweepResult } from '../../functions/sweeper.js';
import { call, createImage, stack, uniqueName } from './api.js';
import { useStackEnvironment } from './in-process.js';
import { assertInvariants } from './invariants.js';
import {
  describe as describeUpload,
  makeContent,
  PART,
  startUpload,
  testDdb,
  testS3,
  uploadContent,
  uploadParts,
  waitForState,
} from './upload-client.js';
import { contentKey, HASHING_UPLOADS_PARTITION, keys, RELEASED_FILES_PARTITION } from '../../functions/core/db/schema.js';

let sweeper: (event: unknown, context: Context) => Promise<SweepResult>;
let lambdaContext: (name: string, timeoutMs: number) => Context;

beforeAll(async () => {
  useStackEnvironment();
  ({ handler: sweeper } = (await import('../../functions/sweeper.js')) as unknown as { handler: typeof sweeper });
  ({ lambdaContext } = await import('../lambda-context.js'));
});

const fileItem = async (uid: string) =>
  (await testDdb().send(new GetCommand({ TableName: stack().tableName, Key: keys.file(uid), ConsistentRead: true }))).Item;

async function objectExists(uid: string): Promise<boolean> {
  try {
    await testS3().send(new HeadObjectCommand({ Bucket: stack().bucket, Key: contentKey(uid) }));
    return true;
  } catch (error) {
    if (error instanceof NotFound || (error as { name?: string }).name === 'NotFound') return false;
    throw error;
  }
}

/**
 * What DELETE /image/{id} commits before it collects the file, written
 * directly: the image and its name guard gone, the file's reference released.
 * A collection that then fails leaves exactly this.
 */
async function deleteWithoutCollecting(image: { uid: string; name: string }, fileUid: string): Promise<void> {
  await testDdb().send(
    new TransactWriteCommand({
      TransactItems: [
        { Delete: { TableName: stack().tableName, Key: keys.image(image.uid) } },
        { Delete: { TableName: stack().tableName, Key: keys.name(image.name) } },
        {
          Update: {
            TableName: stack().tableName,
            Key: keys.file(fileUid),
            UpdateExpression: 'SET refcnt = refcnt - :one, gsi1pk = :released, gsi1sk = :uid',
            ExpressionAttributeValues: { ':one': 1, ':released': RELEASED_FILES_PARTITION, ':uid': fileUid },
          },
        },
      ],
    }),
  );
}

describe('the sweeper', () => {
  it('collects a file whose clean-up never ran, and keeps one that is referenced again', async () => {
    const lost = await createImage();
    const lostSession = await uploadContent(lost.uid, makeContent(1, 1000));
    const shared = await createImage();
    const sharedSession = await uploadContent(shared.uid, makeContent(1, 2000));
    const clone = await call<string>('POST', `/image/${shared.uid}/clone`, { body: { name: uniqueName('clone') } });
    expect(clone.status).toBe(201);

    await deleteWithoutCollecting(lost, lostSession.upload_id);
    await deleteWithoutCollecting(shared, sharedSession.upload_id); // the clone still refers to it
    expect(await fileItem(lostSession.upload_id)).toMatchObject({ refcnt: 0, gsi1pk: RELEASED_FILES_PARTITION });
    expect(await objectExists(lostSession.upload_id)).toBe(true);

    const result = await sweeper({}, lambdaContext('image-service-sweeper', 60_000));
    expect(result.failed).toEqual([]);
    expect(result.collected).toBeGreaterThanOrEqual(1);
    expect(result.stillReferenced).toBeGreaterThanOrEqual(1);

    expect(await fileItem(lostSession.upload_id)).toBeUndefined();
    expect(await objectExists(lostSession.upload_id)).toBe(false);
    const kept = await fileItem(sharedSession.upload_id);
    expect(kept).toMatchObject({ refcnt: 1, state: 'live' });
    expect(kept?.['gsi1pk']).toBeUndefined();
    expect(await objectExists(sharedSession.upload_id)).toBe(true);

    const cloneInfo = await call<{ refcnt: number }>('GET', `/image/${clone.body.data}/content/info`);
    expect(cloneInfo.body.data?.refcnt).toBe(1);
    await assertInvariants({ images: [clone.body.data!], files: [lostSession.upload_id, sharedSession.upload_id] });
  });

  it('a second run finds nothing more to do', async () => {
    const again = await sweeper({}, lambdaContext('image-service-sweeper', 60_000));
    expect(again.failed).toEqual([]);
  });
});

describe('upload sessions whose hasher never finished', () => {
  /** What a completion that timed out after claiming the session leaves: `hashing`, multipart upload still open. */
  async function stuckInHashing(sinceMs: number) {
    const { uid } = await createImage();
    const data = makeContent(1, 100);
    const session = await startUpload(uid, { size: data.length, part_size: PART });
    await uploadParts(session, data);
    await testDdb().send(
      new UpdateCommand({
        TableName: stack().tableName,
        Key: keys.upload(session.upload_id),
        UpdateExpression: 'SET #state = :hashing, gsi1pk = :p, gsi1sk = :since',
        ExpressionAttributeNames: { '#state': 'state' },
        ExpressionAttributeValues: { ':hashing': 'hashing', ':p': HASHING_UPLOADS_PARTITION, ':since': String(sinceMs).padStart(15, '0') },
      }),
    );
    const item = await testDdb().send(
      new GetCommand({ TableName: stack().tableName, Key: keys.upload(session.upload_id), ConsistentRead: true }),
    );
    return { uid, session, s3UploadId: String(item.Item?.['s3_upload_id']) };
  }

  async function multipartOpen(key: string, uploadId: string): Promise<boolean> {
    try {
      await testS3().send(new ListPartsCommand({ Bucket: stack().bucket, Key: key, UploadId: uploadId }));
      return true;
    } catch (error) {
      if (error instanceof NoSuchUpload || (error as { name?: string }).name === 'NoSuchUpload') return false;
      throw error;
    }
  }

  it('re-drives a quiet session: completes the multipart upload its completion left open, and the hasher finishes it', async () => {
    const stale = await stuckInHashing(Date.now() - 8 * 3600 * 1000);
    const fresh = await stuckInHashing(Date.now() - 60 * 1000);
    const key = (id: string) => contentKey(id);
    expect(await multipartOpen(key(stale.session.upload_id), stale.s3UploadId)).toBe(true);

    const result = await sweeper({}, lambdaContext('image-service-sweeper', 60_000));
    expect(result.redrive.completed).toContain(stale.session.upload_id);
    expect(result.redrive.completed).not.toContain(fresh.session.upload_id);
    expect(await multipartOpen(key(stale.session.upload_id), stale.s3UploadId)).toBe(false);
    const done = await waitForState(stale.uid, stale.session.upload_id);
    expect(done.state).toBe('ready');

    // A session that is hashing now is none of the sweeper's business.
    expect((await describeUpload(fresh.uid, fresh.session.upload_id)).body.data?.state).toBe('hashing');
    expect(await multipartOpen(key(fresh.session.upload_id), fresh.s3UploadId)).toBe(true);
  });

  it('fails a quiet session whose parts are gone, with the reason, and one re-driven too often', async () => {
    const lost = await stuckInHashing(Date.now() - 8 * 3600 * 1000);
    await testS3().send(
      new AbortMultipartUploadCommand({ Bucket: stack().bucket, Key: contentKey(lost.session.upload_id), UploadId: lost.s3UploadId }),
    );
    const tired = await stuckInHashing(Date.now() - 8 * 3600 * 1000);
    await testDdb().send(
      new UpdateCommand({
        TableName: stack().tableName,
        Key: keys.upload(tired.session.upload_id),
        UpdateExpression: 'SET redrives = :n',
        ExpressionAttributeValues: { ':n': 3 },
      }),
    );

    const result = await sweeper({}, lambdaContext('image-service-sweeper', 60_000));
    expect(result.redrive.failed.map((f) => f.upload_id)).toEqual(
      expect.arrayContaining([lost.session.upload_id, tired.session.upload_id]),
    );
    expect((await describeUpload(lost.uid, lost.session.upload_id)).body.data).toMatchObject({
      state: 'failed',
      reason: expect.stringMatching(/missing from S3/),
    });
    expect((await describeUpload(tired.uid, tired.session.upload_id)).body.data).toMatchObject({
      state: 'failed',
      reason: expect.stringMatching(/did not finish this upload after 3 re-drives/),
    });
    expect(await multipartOpen(contentKey(tired.session.upload_id), tired.s3UploadId)).toBe(false);
  });
});
