/**
 * Upload sessions over their life: a checksum that does not match, resuming
 * an interrupted upload, aborting, expiry, and completions that S3 would
 * refuse (which must leave the session completable).
 */
import { ListPartsCommand, NoSuchUpload } from '@aws-sdk/client-s3';
import { GetCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { describe as group, expect, it } from 'vitest';
import { call, createImage, stack } from './api.js';
import { assertInvariants } from './invariants.js';
import {
  PART,
  abort,
  complete,
  describe,
  downloadFollowing,
  expectData,
  makeContent,
  partBytes,
  putPart,
  sha1Hex,
  startUpload,
  testDdb,
  testS3,
  uploadParts,
  waitForState,
  type CompletedPart,
  type Session,
  contentInfo,
  objectExists,
  imageWithContent,
} from './upload-client.js';
import { contentKey, keys } from '../../functions/core/db/schema.js';

const reasonOf = (res: { status: number; body: { success: boolean; reason?: string } }, status: number): string => {
  expect(res.status, JSON.stringify(res.body)).toBe(status);
  expect(res.body.success).toBe(false);
  return res.body.reason ?? '';
};

/** The S3 multipart upload behind a session, straight from S3 (ListParts). */
async function s3Parts(uploadId: string): Promise<number[] | 'NoSuchUpload'> {
  const item = await testDdb().send(new GetCommand({ TableName: stack().tableName, Key: keys.upload(uploadId) }));
  const s3UploadId = item.Item?.['s3_upload_id'];
  if (typeof s3UploadId !== 'string') throw new Error(`no UPLOAD item for ${uploadId}`);
  try {
    const out = await testS3().send(new ListPartsCommand({ Bucket: stack().bucket, Key: contentKey(uploadId), UploadId: s3UploadId }));
    return (out.Parts ?? []).map((p) => p.PartNumber ?? 0);
  } catch (error) {
    if (error instanceof NoSuchUpload) return 'NoSuchUpload';
    throw error;
  }
}

group('a declared sha1 that does not match', () => {
  it('fails the session with a reason, deletes the new object and keeps the old content', async () => {
    const { image, old, first } = await imageWithContent(7_000);

    const data = makeContent(1, 333);
    const wrong = sha1Hex(Buffer.from('something else'));
    const session = await startUpload(image.uid, { size: data.length, part_size: PART, sha1: wrong });
    expect(session.sha1).toBe(wrong);
    const parts = await uploadParts(session, data);
    expectData(await complete(image.uid, session.upload_id, parts), 202, 'complete');
    const done = await waitForState(image.uid, session.upload_id);

    expect(done.state).toBe('failed');
    expect(done.reason).toMatch(/sha1/);
    expect(done.reason).toContain(wrong);
    expect(done.reason).toContain(sha1Hex(data));
    expect(await objectExists(contentKey(session.upload_id))).toBe(false);

    expect(await contentInfo(image.uid)).toMatchObject({ size: old.length, chksum: `sha1:${sha1Hex(old)}`, refcnt: 1 });
    expect((await downloadFollowing(image.uid)).bytes.equals(old)).toBe(true);
    // A failed session cannot be completed or aborted again.
    reasonOf(await complete(image.uid, session.upload_id, parts), 409);
    reasonOf(await abort(image.uid, session.upload_id), 409);
    await assertInvariants({ images: [image.uid], files: [first.upload_id, session.upload_id] });
  });
});

group('resume', () => {
  it('lists the parts S3 holds and hands out URLs only for the missing ones', async () => {
    const image = await createImage();
    const data = makeContent(3, 4_321);
    const session = await startUpload(image.uid, { size: data.length, part_size: PART });
    expect(session.part_count).toBe(4);

    const sent = await uploadParts(session, data, [1, 3]);
    // Part 2 arrives cut short (an interrupted client): S3 holds it, but it must be sent again.
    const short = partBytes(data, PART, 2).subarray(0, 1_000);
    await putPart(session.parts!.find((p) => p.part_number === 2)!.url, short);

    const resumed = expectData(await describe(image.uid, session.upload_id), 200, 'describe');
    expect(resumed.state).toBe('uploading');
    const done = [...(resumed.parts_done ?? [])].sort((a, b) => a.part_number - b.part_number);
    expect(done.map((p) => p.part_number)).toEqual([1, 2, 3]);
    expect(done.map((p) => p.size)).toEqual([PART, 1_000, PART]);
    for (const s of sent) {
      expect(done.find((p) => p.part_number === s.part_number)?.etag).toBe(s.etag);
    }
    expect(resumed.parts?.map((p) => p.part_number)).toEqual([2, 4]);
    expect(resumed.expires).toBeGreaterThan(Date.now() / 1000);

    // Completing now is refused: part 2 is short, part 4 is missing.
    reasonOf(await complete(image.uid, session.upload_id, sent), 400);

    const rest = await uploadParts({ ...resumed, part_size: session.part_size }, data);
    expect(rest.map((p) => p.part_number).sort()).toEqual([2, 4]);
    const again = expectData(await describe(image.uid, session.upload_id), 200, 'describe');
    expect(again.parts_done?.length).toBe(4);
    expect(again.parts).toEqual([]);

    expectData(await complete(image.uid, session.upload_id, [...sent, ...rest]), 202, 'complete');
    const end = await waitForState(image.uid, session.upload_id);
    expect(end.state).toBe('ready');
    // Once finished, the session lists no parts and hands out no URLs.
    expect(end.parts).toBeUndefined();
    expect(end.parts_done).toBeUndefined();
    expect(await contentInfo(image.uid)).toMatchObject({ size: data.length, chksum: `sha1:${sha1Hex(data)}` });
    expect((await downloadFollowing(image.uid)).bytes.equals(data)).toBe(true);
    await assertInvariants({ images: [image.uid], files: [session.upload_id] });
  });
});

group('abort', () => {
  it('ends the session, removes its parts from S3 and refuses to complete it', async () => {
    const image = await createImage();
    const data = makeContent(2, 10);
    const session = await startUpload(image.uid, { size: data.length, part_size: PART });
    const parts = await uploadParts(session, data, [1, 2]);
    expect(await s3Parts(session.upload_id)).toEqual([1, 2]);

    const aborted = expectData(await abort(image.uid, session.upload_id), 200, 'abort');
    expect(aborted.state).toBe('aborted');
    const seen = expectData(await describe(image.uid, session.upload_id), 200, 'describe');
    expect(seen.state).toBe('aborted');
    expect(seen.parts).toBeUndefined();

    expect(await s3Parts(session.upload_id)).toBe('NoSuchUpload');
    expect(reasonOf(await complete(image.uid, session.upload_id, parts), 409)).toMatch(/aborted/);
    expect(reasonOf(await abort(image.uid, session.upload_id), 409)).toMatch(/aborted/);
    // The old URLs no longer accept bytes.
    await expect(putPart(session.parts!.find((p) => p.part_number === 3)!.url, partBytes(data, PART, 3))).rejects.toThrow(
      /404|NoSuchUpload/,
    );
    expect(await objectExists(contentKey(session.upload_id))).toBe(false);

    const record = expectData(await call<{ content: object }>('GET', `/image/${image.uid}`), 200, 'record');
    expect(record.content).toEqual({});
    await assertInvariants({ images: [image.uid], files: [session.upload_id] });
  });
});

group('expired session', () => {
  it('shows expired, refuses completion with 409 and can still be aborted', async () => {
    const image = await createImage();
    const data = makeContent(1, 99);
    const session = await startUpload(image.uid, { size: data.length, part_size: PART });
    expect(session.session_expires).toBeGreaterThan(Date.now() / 1000 + 3600);
    const parts = await uploadParts(session, data);

    await testDdb().send(
      new UpdateCommand({
        TableName: stack().tableName,
        Key: keys.upload(session.upload_id),
        UpdateExpression: 'SET expires_at = :past',
        ConditionExpression: 'attribute_exists(pk)',
        ExpressionAttributeValues: { ':past': Math.floor(Date.now() / 1000) - 60 },
      }),
    );

    const seen = expectData(await describe(image.uid, session.upload_id), 200, 'describe');
    expect(seen.state).toBe('expired');
    expect(seen.parts).toBeUndefined();
    expect(reasonOf(await complete(image.uid, session.upload_id, parts), 409)).toMatch(/expired/);
    expect(expectData(await describe(image.uid, session.upload_id), 200, 'describe').state).toBe('expired');
    expect(await objectExists(contentKey(session.upload_id))).toBe(false);

    expect(expectData(await abort(image.uid, session.upload_id), 200, 'abort').state).toBe('aborted');
    expect(await s3Parts(session.upload_id)).toBe('NoSuchUpload');
    await assertInvariants({ images: [image.uid], files: [session.upload_id] });
  });
});

group('completions S3 would refuse', () => {
  async function prepared(): Promise<{ image: string; data: Buffer; session: Session; parts: CompletedPart[] }> {
    const { uid } = await createImage();
    const data = makeContent(2, 500);
    const session = await startUpload(uid, { size: data.length, part_size: PART });
    const parts = (await uploadParts(session, data)).sort((a, b) => a.part_number - b.part_number);
    return { image: uid, data, session, parts };
  }

  async function completesAfterwards(p: Awaited<ReturnType<typeof prepared>>, parts = p.parts): Promise<void> {
    expect(expectData(await describe(p.image, p.session.upload_id), 200, 'describe').state).toBe('uploading');
    expectData(await complete(p.image, p.session.upload_id, parts), 202, 'complete');
    expect((await waitForState(p.image, p.session.upload_id)).state).toBe('ready');
    expect((await downloadFollowing(p.image)).bytes.equals(p.data)).toBe(true);
    await assertInvariants({ images: [p.image], files: [p.session.upload_id] });
  }

  it('refuses a wrong ETag with 400 and stays completable', async () => {
    const p = await prepared();
    const bad = p.parts.map((x) => (x.part_number === 2 ? { ...x, etag: '"0123456789abcdef0123456789abcdef"' } : x));
    expect(reasonOf(await complete(p.image, p.session.upload_id, bad), 400)).toMatch(/part 2.*ETag/);
    // ETags are compared without quotes, as S3 does.
    await completesAfterwards(
      p,
      p.parts.map((x) => ({ ...x, etag: x.etag.replace(/"/g, '') })),
    );
  });

  it('refuses a missing, repeated or extra part with 400 and stays completable', async () => {
    const p = await prepared();
    const [one, two, three] = p.parts as [CompletedPart, CompletedPart, CompletedPart];
    expect(reasonOf(await complete(p.image, p.session.upload_id, [one, three]), 400)).toMatch(/part 2 is missing/);
    expect(reasonOf(await complete(p.image, p.session.upload_id, [one, two]), 400)).toMatch(/part 3 is missing/);
    expect(reasonOf(await complete(p.image, p.session.upload_id, [one, two, two, three]), 400)).toMatch(/twice/);
    expect(reasonOf(await complete(p.image, p.session.upload_id, [one, two, three, { part_number: 4, etag: three.etag }]), 400)).toMatch(
      /3 parts/,
    );
    await completesAfterwards(p);
  });

  it('refuses parts that add up to another size than declared with 400 and stays completable', async () => {
    const p = await prepared();
    // Every part is in S3, so the session hands out no URL; the first ones are still valid for re-sending.
    expect(expectData(await describe(p.image, p.session.upload_id), 200, 'describe').parts).toEqual([]);
    const url = p.session.parts?.find((x) => x.part_number === 3)?.url ?? '';
    const last = partBytes(p.data, PART, 3);
    // Re-send the last part one byte short: the list is complete but the total is off.
    const shortEtag = await putPart(url, last.subarray(0, last.length - 1));
    const short = p.parts.map((x) => (x.part_number === 3 ? { ...x, etag: shortEtag } : x));
    expect(reasonOf(await complete(p.image, p.session.upload_id, short), 400)).toMatch(/add up to .* declared size/);

    const fixedEtag = await putPart(url, last);
    await completesAfterwards(
      p,
      p.parts.map((x) => (x.part_number === 3 ? { ...x, etag: fixedEtag } : x)),
    );
  });

  it('refuses a part that was never uploaded with 400', async () => {
    const { uid } = await createImage();
    const data = makeContent(1, 10);
    const session = await startUpload(uid, { size: data.length, part_size: PART });
    const [first] = await uploadParts(session, data, [1]);
    expect(reasonOf(await complete(uid, session.upload_id, [first!, { part_number: 2, etag: first!.etag }]), 400)).toMatch(
      /part 2 was never uploaded/,
    );
    expect(expectData(await describe(uid, session.upload_id), 200, 'describe').parts?.map((x) => x.part_number)).toEqual([2]);
    expect(expectData(await abort(uid, session.upload_id), 200, 'abort').state).toBe('aborted');
  });

  it('refuses to complete a session twice (409) and keeps the first result', async () => {
    const p = await prepared();
    expectData(await complete(p.image, p.session.upload_id, p.parts), 202, 'complete');
    expect(reasonOf(await complete(p.image, p.session.upload_id, p.parts), 409)).toMatch(/hashing|ready/);
    expect((await waitForState(p.image, p.session.upload_id)).state).toBe('ready');
    expect(reasonOf(await complete(p.image, p.session.upload_id, p.parts), 409)).toMatch(/ready/);
    expect(reasonOf(await abort(p.image, p.session.upload_id), 409)).toMatch(/ready/);
    expect((await downloadFollowing(p.image)).bytes.equals(p.data)).toBe(true);
    await assertInvariants({ images: [p.image], files: [p.session.upload_id] });
  });
});
