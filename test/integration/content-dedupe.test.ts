/**
 * Identical content is stored once: an upload whose bytes (sha1, size) and
 * format equal a live file's switches its image to that file (refcnt + 1) and
 * its own object is deleted, as clones share a file. Also under races: two
 * identical uploads at once, and an upload racing the last release of the
 * file it matches.
 */
import { describe, expect, it } from 'vitest';
import { call, createImage } from './api.js';
import { assertInvariants, snapshot } from './invariants.js';
import { downloadFollowing, expectData, makeContent, sha1Hex, uploadContent, type Session, contentInfo } from './upload-client.js';
import { contentKey } from '../../functions/core/db/schema.js';

interface Record_ {
  content: Record<string, { uid?: string }>;
}

const fileOf = async (image: string, fmt = 'raw'): Promise<string | undefined> =>
  expectData(await call<Record_>('GET', `/image/${image}`), 200, 'record').content[fmt]?.uid;

describe('identical content', () => {
  it('is stored once: a second image uploading the same bytes shares the first file', async () => {
    const [a, b] = [await createImage(), await createImage()];
    const data = makeContent(0, 300_000);
    const first = await uploadContent(a.uid, data);
    const second = await uploadContent(b.uid, data);
    expect([first.state, second.state]).toEqual(['ready', 'ready']);

    expect(await fileOf(b.uid)).toBe(first.upload_id);
    const info = await contentInfo(b.uid);
    expect(info).toMatchObject({ refcnt: 2, chksum: `sha1:${sha1Hex(data)}` });
    const snap = await snapshot();
    expect(snap.objects.has(contentKey(second.upload_id))).toBe(false);
    expect(snap.files.has(second.upload_id)).toBe(false);
    expect(snap.checksums.get(`${sha1Hex(data)}#${data.length}`)).toBe(first.upload_id);
    expect((await downloadFollowing(b.uid)).bytes.equals(data)).toBe(true);

    // Releasing one image leaves the file to the other; releasing both collects it and its index entry.
    expect((await call('DELETE', `/image/${a.uid}/content`)).status).toBe(200);
    expect((await contentInfo(b.uid)).refcnt).toBe(1);
    expect((await call('DELETE', `/image/${b.uid}`)).status).toBe(200);
    await assertInvariants({ images: [a.uid, b.uid], files: [first.upload_id, second.upload_id] });
    const after = await snapshot();
    expect(after.files.has(first.upload_id)).toBe(false);
    expect(after.checksums.has(`${sha1Hex(data)}#${data.length}`)).toBe(false);
  });

  it('an image uploading the bytes it already has keeps its file', async () => {
    const image = await createImage();
    const data = makeContent(0, 50_000);
    const first = await uploadContent(image.uid, data);
    const again = await uploadContent(image.uid, data);
    expect(again.state).toBe('ready');
    expect(await fileOf(image.uid)).toBe(first.upload_id);
    expect((await contentInfo(image.uid)).refcnt).toBe(1);
    await assertInvariants({ images: [image.uid], files: [first.upload_id, again.upload_id] });
  });

  it('the same bytes declared as another format are stored apart', async () => {
    const [a, b] = [await createImage(), await createImage()];
    const data = makeContent(0, 20_000);
    const raw = await uploadContent(a.uid, data, { fmt: 'raw' });
    const other = await uploadContent(b.uid, data, { fmt: 'disk' });
    expect([raw.state, other.state]).toEqual(['ready', 'ready']);
    expect(await fileOf(b.uid, 'disk')).toBe(other.upload_id);
    await assertInvariants({ images: [a.uid, b.uid], files: [raw.upload_id, other.upload_id] });
  });

  it('identical uploads to several images at once end sharing one file', async () => {
    const images = await Promise.all([1, 2, 3, 4].map(() => createImage()));
    const data = makeContent(0, 400_000);
    const sessions = await Promise.all(images.map((i) => uploadContent(i.uid, data)));
    expect(sessions.map((s) => s.state)).toEqual(['ready', 'ready', 'ready', 'ready']);

    const files = new Set(await Promise.all(images.map((i) => fileOf(i.uid))));
    expect(files.size).toBe(1);
    const [file] = [...files] as [string];
    expect(sessions.map((s) => s.upload_id)).toContain(file);
    expect((await contentInfo(images[0]!.uid)).refcnt).toBe(4);
    const snap = await snapshot();
    const stored = sessions.filter((s) => snap.objects.has(contentKey(s.upload_id)));
    expect(stored.map((s) => s.upload_id)).toEqual([file]);
    await assertInvariants({ images: images.map((i) => i.uid), files: sessions.map((s) => s.upload_id) });
  });

  it('an upload racing the last release of the file it matches keeps the invariants', async () => {
    const rounds = 4;
    for (let round = 0; round < rounds; round++) {
      const [holder, uploader] = [await createImage(), await createImage()];
      const data = makeContent(0, 100_000 + round);
      const held = await uploadContent(holder.uid, data);
      expect(held.state).toBe('ready');

      // The holder lets go of the only reference while the identical upload is being checked.
      const [released, session] = await Promise.all([
        call('DELETE', round % 2 === 0 ? `/image/${holder.uid}/content` : `/image/${holder.uid}`),
        uploadContent(uploader.uid, data),
      ]);
      expect(released.status).toBe(200);
      expect((session as Session).state).toBe('ready');
      expect(await contentInfo(uploader.uid)).toMatchObject({
        refcnt: 1,
        chksum: `sha1:${sha1Hex(data)}`,
      });
      expect((await downloadFollowing(uploader.uid)).bytes.equals(data)).toBe(true);
      await assertInvariants({ images: [holder.uid, uploader.uid], files: [held.upload_id, session.upload_id] });
      // Whichever file the uploader ended with, the index names it (or nothing, never a dead file).
      const snap = await snapshot();
      const named = snap.checksums.get(`${sha1Hex(data)}#${data.length}`);
      if (named !== undefined) expect(named).toBe(await fileOf(uploader.uid));
    }
  });
});
