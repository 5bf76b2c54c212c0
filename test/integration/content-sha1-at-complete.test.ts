/**
 * A client that hashes while it sends (one read of a 50 GB file, not two) can
 * only declare the sha1 when it completes the upload. The hasher checks it
 * exactly as one declared at the start.
 */
import { describe, expect, it } from 'vitest';
import { call, createImage } from './api.js';
import {
  PART,
  complete,
  downloadFollowing,
  expectData,
  makeContent,
  sha1Hex,
  startUpload,
  uploadContent,
  uploadParts,
  waitForState,
} from './upload-client.js';

const completeWithSha1 = (image: string, uploadId: string, parts: unknown, sha1: string) =>
  call<{ state: string; sha1: string | null }>('POST', `/image/${image}/content/upload/${uploadId}`, {
    body: { parts, sha1 },
  });

describe('sha1 declared at completion', () => {
  it('is checked by the hasher: the right one makes the upload ready', async () => {
    const { uid } = await createImage();
    const data = makeContent(1, 4096);
    const session = await startUpload(uid, { size: data.length, part_size: PART });
    expect(session.sha1).toBeNull();
    const parts = await uploadParts(session, data);
    const res = await completeWithSha1(uid, session.upload_id, parts, `sha1:${sha1Hex(data).toUpperCase()}`);
    expect(res.status).toBe(202);
    expect(res.body.data).toMatchObject({ state: 'hashing', sha1: sha1Hex(data) });
    expect((await waitForState(uid, session.upload_id)).state).toBe('ready');
    expect((await downloadFollowing(uid)).bytes.equals(data)).toBe(true);
  });

  it('a wrong one fails the upload and the image keeps its old content', async () => {
    const { uid } = await createImage();
    const old = makeContent(0, 3000);
    await uploadContent(uid, old);
    const data = makeContent(1, 10);
    const session = await startUpload(uid, { size: data.length, part_size: PART });
    const parts = await uploadParts(session, data);
    expect((await completeWithSha1(uid, session.upload_id, parts, sha1Hex(old))).status).toBe(202);
    const done = await waitForState(uid, session.upload_id);
    expect(done.state).toBe('failed');
    expect(done.reason).toMatch(/sha1 mismatch/);
    expect((await downloadFollowing(uid)).bytes.equals(old)).toBe(true);
  });

  it('must agree with one declared at the start; a disagreement changes nothing', async () => {
    const { uid } = await createImage();
    const data = makeContent(0, 5000);
    const session = await startUpload(uid, { size: data.length, part_size: PART, sha1: sha1Hex(data) });
    const parts = await uploadParts(session, data);
    const wrong = await completeWithSha1(uid, session.upload_id, parts, sha1Hex(Buffer.from('other')));
    expect(wrong.status).toBe(400);
    expect(wrong.body.reason).toMatch(/differs from the .* this upload declared when it started/);
    expect(expectData(await complete(uid, session.upload_id, parts), 202, 'complete').state).toBe('hashing');
    expect((await waitForState(uid, session.upload_id)).state).toBe('ready');
  });

  it('refuses a malformed sha1', async () => {
    const { uid } = await createImage();
    const data = makeContent(0, 100);
    const session = await startUpload(uid, { size: data.length, part_size: PART });
    const parts = await uploadParts(session, data);
    const res = await completeWithSha1(uid, session.upload_id, parts, 'abc');
    expect(res.status).toBe(400);
    expect(res.body.reason).toMatch(/sha1: must be 40 hex characters/);
  });
});
