/**
 * The format is checked, not trusted: `cwsquash` (also what an upload that
 * declares nothing gets) is accepted only for a squashfs 4.0 file, whose
 * superblock facts go in the content file's item; other declared formats are
 * stored as declared. Real squashfs files come from mksquashfs.
 */
import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { describe, expect, it } from 'vitest';
import { contentKey, keys } from '../../functions/core/db/schema.js';
import { makeSquashfs } from '../squashfs.js';
import { call, createImage, stack } from './api.js';
import { assertInvariants, listContentObjects } from './invariants.js';
import { table } from './table.js';
import { downloadFollowing, makeContent, sha1Hex, uploadContent, contentInfo } from './upload-client.js';

const fileItem = async (uid: string) =>
  (await table().send(new GetCommand({ TableName: stack().tableName, Key: keys.file(uid), ConsistentRead: true }))).Item;

describe('content format', () => {
  it('records cwsquash with the superblock facts for a squashfs 4.0 file', async () => {
    const image = await createImage();
    const data = await makeSquashfs({ comp: 'xz', blockSize: 65536 });
    const done = await uploadContent(image.uid, data, { fmt: undefined });
    expect(done).toMatchObject({ state: 'ready', fmt: 'cwsquash' });

    const info = await contentInfo(image.uid);
    // The page's keys only: the superblock facts stay in the file's item.
    expect(Object.keys(info).sort()).toEqual(['chksum', 'fmt', 'mtime', 'refcnt', 'size']);
    expect(info).toMatchObject({ fmt: 'cwsquash', size: data.length, chksum: `sha1:${sha1Hex(data)}` });
    expect((await fileItem(done.upload_id))?.['squashfs']).toEqual({
      compression: 'xz',
      block_size: 65536,
      inodes: 6,
      bytes_used: expect.any(Number) as number,
      mkfs_time: expect.any(Number) as number,
    });
    await assertInvariants({ images: [image.uid], files: [done.upload_id] });
  });

  it.each([
    ['declared cwsquash', { fmt: 'cwsquash' }],
    ['declaring no format', { fmt: undefined }],
  ])('fails bytes that are not squashfs %s and keeps the old content', async (_what, body) => {
    const image = await createImage();
    const old = await makeSquashfs();
    const first = await uploadContent(image.uid, old, { fmt: 'cwsquash' });
    expect(first.state).toBe('ready');

    const junk = makeContent(0, 200_000);
    const failed = await uploadContent(image.uid, junk, body);
    expect(failed.state).toBe('failed');
    expect(failed.reason).toMatch(/^not a squashfs file: the first 4 bytes are 0x[0-9a-f]{8}, not the squashfs magic "hsqs"/);
    expect(failed.reason).toContain('the image keeps its previous content');

    const info = await contentInfo(image.uid);
    expect(info).toMatchObject({ fmt: 'cwsquash', chksum: `sha1:${sha1Hex(old)}` });
    expect((await downloadFollowing(image.uid)).bytes.equals(old)).toBe(true);
    // The rejected object is gone, its file never existed.
    expect((await listContentObjects()).has(contentKey(failed.upload_id))).toBe(false);
    expect(await fileItem(failed.upload_id)).toBeUndefined();
    await assertInvariants({ images: [image.uid], files: [first.upload_id] });
  });

  it('fails a truncated squashfs file, and one smaller than a superblock', async () => {
    const image = await createImage();
    const whole = await makeSquashfs({ bytes: 64 * 1024 });
    const cut = await uploadContent(image.uid, whole.subarray(0, 8192), { fmt: undefined });
    expect(cut.state).toBe('failed');
    expect(cut.reason).toMatch(/the file has 8192: the file is truncated or not squashfs/);

    const tiny = await uploadContent(image.uid, Buffer.from('hsqs'), { fmt: 'cwsquash' });
    expect(tiny.state).toBe('failed');
    expect(tiny.reason).toMatch(/4 bytes is smaller than a squashfs superblock/);
    expect((await call('GET', `/image/${image.uid}/content/info`)).status).toBe(404);
  });

  it('stores another declared format as declared, without checking it', async () => {
    const image = await createImage();
    const data = makeContent(0, 10_000);
    const done = await uploadContent(image.uid, data, { fmt: 'raw' });
    expect(done).toMatchObject({ state: 'ready', fmt: 'raw' });
    expect((await contentInfo(image.uid)).fmt).toBe('raw');
    expect((await fileItem(done.upload_id))?.['squashfs']).toBeUndefined();
    await assertInvariants({ images: [image.uid], files: [done.upload_id] });
  });
});
