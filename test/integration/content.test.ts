/**
 * Image content against the real local stack: real bytes PUT to presigned
 * S3 URLs with plain fetch, the hasher's verdict, downloads through the
 * redirect and ranged URLs, stat/info/record shapes, and the refusals.
 */
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
  fetchBytes,
  makeContent,
  sha1Hex,
  start,
  startUpload,
  uploadContent,
  uploadParts,
  waitForState,
  type Session,
  contentInfo,
  type ContentInfo,
  imageWithContent,
} from './upload-client.js';
import { makeSquashfs } from '../squashfs.js';

interface Link {
  url: string;
  expires: number;
  size: number;
  chksum: string;
  parts?: { part_number: number; start: number; end: number; range: string; url: string }[];
}
interface ImageRecord {
  uid: string;
  content: Record<string, unknown>;
}

const expectReason = (res: { status: number; body: { success: boolean; reason?: string } }, status: number) => {
  expect(res.status).toBe(status);
  expect(res.body.success).toBe(false);
  expect(typeof res.body.reason).toBe('string');
  expect(res.body.reason?.length ?? 0).toBeGreaterThan(10);
  return res.body.reason ?? '';
};

group('multi-part upload and download', () => {
  it('uploads a squashfs file of 3 parts of 5 MiB plus a tail via presigned URLs and serves the same bytes back', async () => {
    const image = await createImage();
    // Random files do not compress: the squashfs file is a little over 15 MiB, 4 parts.
    const data = await makeSquashfs({ bytes: 3 * PART });
    const digest = sha1Hex(data);
    const before = Date.now() / 1000;

    // No fmt: the default, cwsquash, which the hasher checks.
    const res = await start(image.uid, { size: data.length, part_size: PART, fmt: undefined });
    const session = expectData(res, 201, 'start');
    expect(res.headers.get('location')).toBe(`/api/v1/image/${image.uid}/content/upload/${session.upload_id}`);
    expect(session).toMatchObject({
      image: image.uid,
      state: 'uploading',
      size: data.length,
      part_size: PART,
      part_count: 4,
      fmt: 'cwsquash',
      sha1: null,
    });
    expect(session.upload_id).toMatch(/^[0-9a-f]{32}$/);
    expect(session.parts?.map((p) => p.part_number)).toEqual([1, 2, 3, 4]);
    expect(new Set(session.parts?.map((p) => p.url)).size).toBe(4);
    expect(session.expires).toBeGreaterThan(before + 60);

    const parts = await uploadParts(session, data);
    // Complete lists parts in any order; the service sorts them.
    const accepted = expectData(await complete(image.uid, session.upload_id, [...parts].reverse()), 202, 'complete');
    expect(accepted.state).toBe('hashing');

    const done = await waitForState(image.uid, session.upload_id);
    expect(done.state).toBe('ready');
    expect(done.reason).toBeUndefined();

    const info = await contentInfo(image.uid);
    expect(info).toEqual({ size: data.length, mtime: info.mtime, chksum: `sha1:${digest}`, refcnt: 1, fmt: 'cwsquash' });
    expect(info.mtime).toBeGreaterThanOrEqual(Math.floor(before) - 1);
    expect(info.mtime).toBeLessThanOrEqual(Date.now() / 1000 + 1);

    const stat = expectData(await call<{ size: number; mtime: number }>('GET', `/image/${image.uid}/content/stat`), 200, 'stat');
    expect(stat).toEqual({ size: data.length, mtime: info.mtime });

    const record = expectData(await call<ImageRecord>('GET', `/image/${image.uid}`), 200, 'record');
    expect(record.content['cwsquash']).toEqual({
      size: data.length,
      mtime: info.mtime,
      chksum: `sha1:${digest}`,
      filename: session.upload_id,
      uid: session.upload_id,
    });
    // By name as well as by UID.
    expect(await contentInfo(image.name)).toEqual(info);

    // curl -L: 302 to S3, following it gives the bytes.
    const redirect = await call('GET', `/image/${image.uid}/content`);
    expect(redirect.status).toBe(302);
    expect(redirect.headers.get('location')).toMatch(new RegExp(`^${stack().s3Endpoint}/`));
    const followed = await downloadFollowing(image.uid);
    expect(followed.status).toBe(200);
    expect(followed.bytes.length).toBe(data.length);
    expect(sha1Hex(followed.bytes)).toBe(digest);
    // Readers may download.
    const asReader = await downloadFollowing(image.name, stack().tokens.reader);
    expect(asReader.status).toBe(200);
    expect(asReader.bytes.equals(data)).toBe(true);

    const link = expectData(await call<Link>('GET', `/image/${image.uid}/content?redirect=false`), 200, 'link');
    expect(link).toMatchObject({ size: data.length, chksum: `sha1:${digest}` });
    expect(link.parts).toBeUndefined();
    expect(link.expires).toBeGreaterThan(Date.now() / 1000 + 60);
    expect((await fetchBytes(link.url)).bytes.equals(data)).toBe(true);

    const ranged = expectData(await call<Link>('GET', `/image/${image.uid}/content?redirect=false&parts=5`), 200, 'ranged');
    const ranges = ranged.parts ?? [];
    expect(ranges.map((p) => p.part_number)).toEqual([1, 2, 3, 4, 5]);
    let next = 0;
    for (const p of ranges) {
      expect(p.start).toBe(next);
      expect(p.end).toBeGreaterThanOrEqual(p.start);
      expect(p.range).toBe(`bytes=${p.start}-${p.end}`);
      next = p.end + 1;
    }
    expect(next).toBe(data.length);
    const pieces = await Promise.all(ranges.map((p) => fetchBytes(ranged.url, p.range)));
    for (const [i, piece] of pieces.entries()) {
      expect(piece.status).toBe(206);
      expect(piece.bytes.length).toBe(ranges[i]!.end - ranges[i]!.start + 1);
    }
    expect(Buffer.concat(pieces.map((p) => p.bytes)).equals(data)).toBe(true);

    await assertInvariants({ images: [image.uid], files: [session.upload_id] });
  });

  it('keeps a custom fmt and accepts a declared sha1 (prefixed, upper case) for a one-part file', async () => {
    const image = await createImage();
    const data = makeContent(0, 100_000);
    const digest = sha1Hex(data);
    const done = await uploadContent(image.uid, data, { fmt: 'squashfs', sha1: `sha1:${digest.toUpperCase()}` });
    expect(done).toMatchObject({ state: 'ready', fmt: 'squashfs', sha1: digest, part_count: 1 });

    const info = await contentInfo(image.uid);
    expect(info).toMatchObject({ fmt: 'squashfs', chksum: `sha1:${digest}`, size: data.length, refcnt: 1 });
    const record = expectData(await call<ImageRecord>('GET', `/image/${image.uid}`), 200, 'record');
    expect(Object.keys(record.content).filter((k) => typeof record.content[k] === 'object')).toEqual(['squashfs']);
    expect(record.content['squashfs']).toMatchObject({ uid: done.upload_id, chksum: `sha1:${digest}` });
    expect((await downloadFollowing(image.uid)).bytes.equals(data)).toBe(true);

    // A second upload with another fmt replaces the entry, not adds one.
    const second = await makeSquashfs();
    const again = await uploadContent(image.uid, second, { fmt: 'cwsquash' });
    expect(again.state).toBe('ready');
    const after = expectData(await call<ImageRecord>('GET', `/image/${image.uid}`), 200, 'record');
    expect(Object.keys(after.content).filter((k) => typeof after.content[k] === 'object')).toEqual(['cwsquash']);
    expect((await downloadFollowing(image.uid)).bytes.equals(second)).toBe(true);

    await assertInvariants({ images: [image.uid], files: [done.upload_id, again.upload_id] });
  });
});

group('ranged download URLs', () => {
  it.each([1, 2, 7, 600, 1000])('parts=%i gives exactly that many contiguous ranges that reassemble the file', async (n) => {
    const image = await createImage();
    const data = makeContent(0, 100_000);
    expect((await uploadContent(image.uid, data)).state).toBe('ready');
    const link = expectData(await call<Link>('GET', `/image/${image.uid}/content?redirect=false&parts=${n}`), 200, 'ranged');
    const ranges = link.parts ?? [];
    expect(ranges.length).toBe(n);
    expect(ranges.map((p) => p.part_number)).toEqual(Array.from({ length: n }, (_, i) => i + 1));
    let next = 0;
    const sizes = new Set<number>();
    for (const p of ranges) {
      expect(p).toEqual({ part_number: p.part_number, start: next, end: p.end, range: `bytes=${p.start}-${p.end}` });
      sizes.add(p.end - p.start + 1);
      next = p.end + 1;
    }
    expect(next).toBe(data.length);
    // About equal: sizes differ by at most one byte.
    expect(Math.max(...sizes) - Math.min(...sizes)).toBeLessThanOrEqual(1);
    if (n <= 7) {
      const pieces = await Promise.all(ranges.map((p) => fetchBytes(link.url, p.range)));
      expect(Buffer.concat(pieces.map((p) => p.bytes)).equals(data)).toBe(true);
    }
  });

  it('parts beyond the size of the file give one range per byte', async () => {
    const image = await createImage();
    const data = makeContent(0, 5);
    expect((await uploadContent(image.uid, data)).state).toBe('ready');
    const link = expectData(await call<Link>('GET', `/image/${image.uid}/content?parts=9`), 200, 'ranged');
    expect(link.parts?.map((p) => p.range)).toEqual(['bytes=0-0', 'bytes=1-1', 'bytes=2-2', 'bytes=3-3', 'bytes=4-4']);
  });
});

group('no content', () => {
  it('answers 404 with a reason on every content read and on content delete', async () => {
    const image = await createImage();
    for (const path of ['/content', '/content?redirect=false', '/content?redirect=false&parts=3', '/content/stat', '/content/info']) {
      const reason = expectReason(await call('GET', `/image/${image.uid}${path}`), 404);
      expect(reason).toContain(image.name);
    }
    expectReason(await call('DELETE', `/image/${image.uid}/content`), 404);
    expect(expectData(await call<ImageRecord>('GET', `/image/${image.uid}`), 200, 'record').content).toEqual({});
  });

  it('answers 404 for an unknown image or upload', async () => {
    const image = await createImage();
    const other = await createImage();
    expectReason(await call('GET', '/image/no-such-image/content'), 404);
    expectReason(await start('no-such-image', { size: 10 }), 404);
    expectReason(await describe(image.uid, '0'.repeat(32)), 404);
    expectReason(await complete(image.uid, '0'.repeat(32), [{ part_number: 1, etag: 'x' }]), 404);
    expectReason(await abort(image.uid, '0'.repeat(32)), 404);
    // An upload is reachable only through its own image.
    const session = await startUpload(image.uid, { size: 10 });
    expectReason(await describe(other.uid, session.upload_id), 404);
    expectReason(await abort(other.uid, session.upload_id), 404);
    expect(expectData(await abort(image.uid, session.upload_id), 200, 'abort').state).toBe('aborted');
  });
});

group('frozen images', () => {
  it('refuse upload, complete, abort, content delete and image delete with 403', async () => {
    const { image, old, first } = await imageWithContent(4_000);

    const data = makeContent(1, 10);
    const session = await startUpload(image.uid, { size: data.length, part_size: PART });
    const parts = await uploadParts(session, data);
    const other = await startUpload(image.uid, { size: 10 });
    expect((await call('PATCH', `/image/${image.uid}`, { body: { frozen: true } })).status).toBe(200);

    expect(expectReason(await start(image.uid, { size: 10 }), 403)).toMatch(/frozen/);
    expect(expectReason(await complete(image.uid, session.upload_id, parts), 403)).toMatch(/frozen/);
    expect(expectReason(await abort(image.uid, other.upload_id), 403)).toMatch(/frozen/);
    expect(expectReason(await call('DELETE', `/image/${image.uid}/content`), 403)).toMatch(/frozen/);
    expect(expectReason(await call('DELETE', `/image/${image.uid}`), 403)).toMatch(/frozen/);

    // Nothing changed: both sessions still open, the old content still served.
    expect(expectData(await describe(image.uid, session.upload_id), 200, 'describe').state).toBe('uploading');
    expect(expectData(await describe(image.uid, other.upload_id), 200, 'describe').state).toBe('uploading');
    expect((await downloadFollowing(image.uid)).bytes.equals(old)).toBe(true);

    // Unfrozen, the same completion goes through.
    expect((await call('PATCH', `/image/${image.uid}`, { body: { frozen: false } })).status).toBe(200);
    expectData(await complete(image.uid, session.upload_id, parts), 202, 'complete');
    expect((await waitForState(image.uid, session.upload_id)).state).toBe('ready');
    expect((await downloadFollowing(image.uid)).bytes.equals(data)).toBe(true);
    expect(expectData(await abort(image.uid, other.upload_id), 200, 'abort').state).toBe('aborted');

    await assertInvariants({ images: [image.uid], files: [first.upload_id, session.upload_id, other.upload_id] });
  });
});

group('roles', () => {
  it('refuses write routes to a reader with 403 and a bad token with 401', async () => {
    const image = await createImage();
    const old = makeContent(0, 1_000);
    const first = await uploadContent(image.uid, old);
    const session = await startUpload(image.uid, { size: 10 });
    const parts = await uploadParts(session, makeContent(0, 10));
    const reader = { token: stack().tokens.reader };

    expectReason(await start(image.uid, { size: 10 }, reader), 403);
    expectReason(await complete(image.uid, session.upload_id, parts, reader), 403);
    expectReason(await abort(image.uid, session.upload_id, reader), 403);
    expectReason(await describe(image.uid, session.upload_id, reader), 403);
    expectReason(await call('DELETE', `/image/${image.uid}/content`, reader), 403);
    expectReason(await call('DELETE', `/image/${image.uid}`, reader), 403);
    expectReason(await call('POST', `/image/${image.uid}/clone`, { ...reader, body: { name: `${image.name}-c` } }), 403);

    for (const token of [stack().tokens.expired, null, 'not-a-jwt']) {
      expectReason(await start(image.uid, { size: 10 }, { token }), 401);
      expectReason(await call('GET', `/image/${image.uid}/content/info`, { token }), 401);
    }

    // Reads are open to readers.
    expect((await call('GET', `/image/${image.uid}/content/info`, reader)).status).toBe(200);
    expect((await call('GET', `/image/${image.uid}/content/stat`, reader)).status).toBe(200);
    expect((await call('GET', `/image/${image.uid}/content`, reader)).status).toBe(302);

    // Nothing the reader tried took effect.
    expect(expectData(await describe(image.uid, session.upload_id), 200, 'describe').state).toBe('uploading');
    expect((await downloadFollowing(image.uid)).bytes.equals(old)).toBe(true);
    expect(expectData(await abort(image.uid, session.upload_id), 200, 'abort').state).toBe('aborted');
    await assertInvariants({ images: [image.uid], files: [first.upload_id, session.upload_id] });
  });
});

group('If-Match on the content writes', () => {
  it('refuses a stale version with 412 on content delete, clone and upload start, and changes nothing', async () => {
    const image = await createImage();
    const data = makeContent(0, 1000);
    await uploadContent(image.uid, data);
    const current = await call<ImageRecord>('GET', `/image/${image.uid}`);
    const etag = current.headers.get('etag') ?? '';
    expect(etag).toMatch(/^"\d+"$/);
    const stale = { 'if-match': '"1"' };

    expectReason(await call('DELETE', `/image/${image.uid}/content`, { headers: stale }), 412);
    expectReason(await call('POST', `/image/${image.uid}/clone`, { body: { name: `${image.name}-clone` }, headers: stale }), 412);
    expectReason(await start(image.uid, { size: 10 }, { headers: stale }), 412);
    expect((await call('GET', `/image/${image.name}-clone`)).status).toBe(404);
    const info = await call<ContentInfo>('GET', `/image/${image.uid}/content/info`);
    expect(info.body.data).toMatchObject({ chksum: `sha1:${sha1Hex(data)}`, refcnt: 1 });

    // With the current ETag each goes through.
    expect(
      (await call('POST', `/image/${image.uid}/clone`, { body: { name: `${image.name}-clone` }, headers: { 'if-match': etag } })).status,
    ).toBe(201);
    expect((await start(image.uid, { size: 10 }, { headers: { 'if-match': etag } })).status).toBe(201);
    expect((await call('DELETE', `/image/${image.uid}/content`, { headers: { 'if-match': etag } })).status).toBe(200);
    await assertInvariants({ images: [image.uid] });
  });
});

group('validation', () => {
  const sha = 'a'.repeat(40);

  it.each<[string, Record<string, unknown>, RegExp]>([
    ['a sha1 that is not 40 hex characters', { size: 10, sha1: 'abc' }, /sha1/],
    ['a sha1 with non-hex characters', { size: 10, sha1: 'z'.repeat(40) }, /sha1/],
    ['an md5-prefixed checksum', { size: 10, sha1: `md5:${sha}` }, /sha1/],
    ['size 0', { size: 0 }, /size/],
    ['a negative size', { size: -5 }, /size/],
    ['a fractional size', { size: 1.5 }, /size/],
    ['a size given as a string', { size: '10' }, /size/],
    ['no size', { sha1: sha }, /size/],
    ['a part_size under 5 MiB', { size: 20 * PART, part_size: PART - 1 }, /part_size/],
    ['a part_size that would need over 10,000 parts', { size: 10_001 * PART, part_size: PART }, /part_size/],
    ['a part_size over 5 GiB', { size: PART, part_size: 5 * 1024 * 1024 * 1024 + 1 }, /part_size/],
    ['an unknown field', { size: 10, name: 'x' }, /name|unrecognized|unknown/i],
    ['a bad fmt', { size: 10, fmt: 'Not A Format!' }, /fmt/],
    ['a fmt named like the content stamp', { size: 10, fmt: 'last_modified_by' }, /fmt: must not be one of last_modified/],
  ])('refuses to start an upload with %s (400)', async (_, body, pattern) => {
    const image = await createImage();
    expect(expectReason(await start(image.uid, body), 400)).toMatch(pattern);
    // Nothing was started: the image still has no content and accepts a good request.
    expect((await start(image.uid, { size: 10 })).status).toBe(201);
  });

  it('refuses a size over 5 TiB with 413', async () => {
    const image = await createImage();
    expectReason(await start(image.uid, { size: 5 * 1024 ** 4 + 1, part_size: 1024 ** 3 }), 413);
  });

  it('refuses malformed JSON, query parameters and completion bodies with 400', async () => {
    const image = await createImage();
    expectReason(
      await call('PUT', `/image/${image.uid}/content`, { raw: '{"size": 1', headers: { 'content-type': 'application/json' } }),
      400,
    );
    expectReason(await call('PUT', `/image/${image.uid}/content?size=3`, { body: { size: 3 } }), 400);
    expectReason(await call('GET', `/image/${image.uid}/content?redirect=maybe`), 400);
    expectReason(await call('GET', `/image/${image.uid}/content?redirect=false&parts=0`), 400);
    expectReason(await call('GET', `/image/${image.uid}/content?redirect=false&parts=many`), 400);

    const session: Session = await startUpload(image.uid, { size: 10 });
    for (const body of [
      {},
      { parts: [] },
      { parts: [{ part_number: 1 }] },
      { parts: [{ part_number: 0, etag: 'x' }] },
      { parts: [{ part_number: 1, etag: '' }] },
      { parts: [{ part_number: 1, etag: 'x', extra: true }] },
      { parts: 'all of them' },
    ]) {
      expectReason(await call('POST', `/image/${image.uid}/content/upload/${session.upload_id}`, { body }), 400);
    }
    expect(expectData(await describe(image.uid, session.upload_id), 200, 'describe').state).toBe('uploading');
  });
});
