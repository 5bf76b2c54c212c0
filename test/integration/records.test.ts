/** The record routes against the real local stack: every rule of DESIGN.md's record contract. */
import { describe, expect, it } from 'vitest';
import type { ImageRecord } from '../../functions/core/images/model.js';
import { call, createImage, stack, uniqueName } from './api.js';
import { IMAGES_PARTITION, keys, RELEASED_FILES_PARTITION } from '../../functions/core/db/schema.js';

type Record_ = ImageRecord;

describe('POST /images', () => {
  it('creates an image and answers its UID, as the reference example shows', async () => {
    const name = uniqueName('NewImage');
    const res = await call<string>('POST', '/images', { raw: JSON.stringify({ name }) });
    expect(res.status).toBe(201);
    expect(res.body).toEqual({ success: true, data: expect.stringMatching(/^[0-9a-f]{32}$/) });
    expect(res.headers.get('location')).toBe(`/api/v1/image/${res.body.data}`);

    const got = await call<Record_>('GET', `/image/${name}`);
    expect(got.status).toBe(200);
    expect(got.body.success).toBe(true);
    const record = got.body.data!;
    expect(record).toMatchObject({
      uid: res.body.data,
      name,
      description: null,
      frozen: false,
      parent: null,
      distro: null,
      content: {},
      last_modified_by: 'admin1',
      last_modified_on: 'local',
    });
    expect(record.last_modified).toBeGreaterThan(Date.now() / 1000 - 60);
    expect(record.last_modified).toBeLessThanOrEqual(Date.now() / 1000 + 1);
  });

  it('stores every optional field, and parent given by name as the parent UID', async () => {
    const parent = await createImage();
    const { uid } = await createImage({ description: 'compute nodes', frozen: true, parent: parent.name, distro: 'Rocky 9' });
    const got = await call<Record_>('GET', `/image/${uid}`);
    expect(got.body.data).toMatchObject({ description: 'compute nodes', frozen: true, parent: parent.uid, distro: 'Rocky 9' });
  });

  it('accepts parent by UID', async () => {
    const parent = await createImage();
    const { uid } = await createImage({ parent: parent.uid });
    expect((await call<Record_>('GET', `/image/${uid}`)).body.data?.parent).toBe(parent.uid);
  });

  it('refuses a taken name with 409 and writes nothing', async () => {
    const { name, uid } = await createImage();
    const res = await call('POST', '/images', { body: { name, description: 'second' } });
    expect(res.status).toBe(409);
    expect(res.body).toEqual({ success: false, reason: expect.stringContaining(name) });
    const got = await call<Record_>('GET', `/image/${name}`);
    expect(got.body.data?.uid).toBe(uid);
    expect(got.body.data?.description).toBeNull();
  });

  it('refuses an unknown parent with 400 and creates nothing', async () => {
    const name = uniqueName();
    const res = await call('POST', '/images', { body: { name, parent: 'no-such-parent' } });
    expect(res.status).toBe(400);
    expect(res.body.reason).toMatch(/parent "no-such-parent" is not an existing image/);
    expect((await call('GET', `/image/${name}`)).status).toBe(404);
  });
});

describe('GET /image/{id}', () => {
  it('finds an image by UID and by name, with an ETag', async () => {
    const { uid, name } = await createImage();
    const byUid = await call<Record_>('GET', `/image/${uid}`);
    const byName = await call<Record_>('GET', `/image/${name}`);
    expect(byUid.status).toBe(200);
    expect(byName.body.data).toEqual(byUid.body.data);
    expect(byUid.headers.get('etag')).toBe('"1"');
  });

  it('answers 404 with a reason for an unknown UID or name', async () => {
    for (const id of ['0123456789abcdef0123456789abcdef', 'NoSuchImage']) {
      const res = await call('GET', `/image/${id}`);
      expect(res.status).toBe(404);
      expect(res.body).toEqual({ success: false, reason: `no image with UID or name "${id}"` });
    }
  });

  it('lets a reader token read', async () => {
    const { name } = await createImage();
    const res = await call<Record_>('GET', `/image/${name}`, { token: stack().tokens.reader });
    expect(res.status).toBe(200);
    expect(res.body.data?.name).toBe(name);
  });
});

describe('PATCH /image/{id}', () => {
  it('changes only the given fields and stamps who changed it', async () => {
    const { uid } = await createImage({ description: 'before', distro: 'Rocky' });
    const res = await call<Record_>('PATCH', `/image/${uid}`, {
      body: { description: 'after' },
      token: stack().tokens.admin2,
    });
    expect(res.status).toBe(200);
    expect(res.body.data).toMatchObject({ description: 'after', distro: 'Rocky', last_modified_by: 'admin2' });
    expect(res.headers.get('etag')).toBe('"2"');
    expect((await call<Record_>('GET', `/image/${uid}`)).body.data?.description).toBe('after');
  });

  it('clears a field given as null', async () => {
    const { uid } = await createImage({ description: 'x', distro: 'y' });
    const res = await call<Record_>('PATCH', `/image/${uid}`, { body: { distro: null } });
    expect(res.body.data).toMatchObject({ description: 'x', distro: null });
  });

  it('renames: the old name is free at once and the new one taken', async () => {
    const { uid, name } = await createImage();
    const newName = uniqueName('renamed');
    const res = await call<Record_>('PATCH', `/image/${name}`, { body: { name: newName } });
    expect(res.status).toBe(200);
    expect((await call<Record_>('GET', `/image/${newName}`)).body.data?.uid).toBe(uid);
    expect((await call('GET', `/image/${name}`)).status).toBe(404);
    const reuse = await createImage({ name });
    expect(reuse.uid).not.toBe(uid);
    // The name now means the new image, though the service met it as the old one's.
    expect((await call<Record_>('GET', `/image/${name}`)).body.data?.uid).toBe(reuse.uid);
  });

  it('refuses a rename onto a taken name with 409 and keeps both images as they were', async () => {
    const a = await createImage();
    const b = await createImage();
    const res = await call('PATCH', `/image/${a.uid}`, { body: { name: b.name } });
    expect(res.status).toBe(409);
    expect((await call<Record_>('GET', `/image/${a.name}`)).body.data?.uid).toBe(a.uid);
    expect((await call<Record_>('GET', `/image/${b.name}`)).body.data?.uid).toBe(b.uid);
  });

  it('refuses an image as its own parent', async () => {
    const { uid, name } = await createImage();
    const res = await call('PATCH', `/image/${uid}`, { body: { parent: name } });
    expect(res.status).toBe(400);
    expect(res.body.reason).toBe('an image cannot be its own parent');
  });

  it('honours If-Match: a stale version is refused with 412 and nothing changes', async () => {
    const { uid } = await createImage();
    const first = await call('PATCH', `/image/${uid}`, { body: { description: 'one' }, headers: { 'if-match': '"1"' } });
    expect(first.status).toBe(200);
    const stale = await call('PATCH', `/image/${uid}`, { body: { description: 'two' }, headers: { 'if-match': '"1"' } });
    expect(stale.status).toBe(412);
    expect(stale.body.reason).toMatch(/has changed since you read it/);
    expect((await call<Record_>('GET', `/image/${uid}`)).body.data?.description).toBe('one');
  });

  it('takes a list of ETags in If-Match, and never matches a weak one', async () => {
    const { uid } = await createImage();
    const weak = await call('PATCH', `/image/${uid}`, { body: { description: 'weak' }, headers: { 'if-match': 'W/"1"' } });
    expect(weak.status).toBe(412);
    const listed = await call('PATCH', `/image/${uid}`, { body: { description: 'listed' }, headers: { 'if-match': '"7", "1",' } });
    expect(listed.status).toBe(200);
    expect(listed.headers.get('etag')).toBe('"2"');
    expect((await call<Record_>('GET', `/image/${uid}`)).body.data?.description).toBe('listed');
  });
});

describe('image UIDs', () => {
  it('are found in upper case too (no name is 32 hex digits)', async () => {
    const { uid, name } = await createImage();
    const res = await call<Record_>('GET', `/image/${uid.toUpperCase()}`);
    expect(res.status).toBe(200);
    expect(res.body.data).toMatchObject({ uid, name });
  });
});

describe('frozen images', () => {
  it('block every change and deletion, but not unfreezing', async () => {
    const { uid, name } = await createImage({ frozen: true, description: 'keep' });
    const attempts = [
      call('PATCH', `/image/${uid}`, { body: { description: 'changed' } }),
      call('PATCH', `/image/${uid}`, { body: { frozen: false, description: 'changed' } }),
      call('PUT', `/image/${uid}`, { body: { name, description: 'changed', frozen: true } }),
      call('DELETE', `/image/${uid}`),
    ];
    for (const res of await Promise.all(attempts)) {
      expect(res.status).toBe(403);
      expect(res.body.reason).toBe(`image "${name}" is frozen; unfreeze it first with {"frozen": false}`);
    }
    expect((await call<Record_>('GET', `/image/${uid}`)).body.data).toMatchObject({ description: 'keep', frozen: true });

    const unfreeze = await call<Record_>('PATCH', `/image/${uid}`, { body: { frozen: false } });
    expect(unfreeze.status).toBe(200);
    expect(unfreeze.body.data?.frozen).toBe(false);
    expect((await call('PATCH', `/image/${uid}`, { body: { description: 'changed' } })).status).toBe(200);
  });

  it('answer a write that changes nothing without writing: no new version, no new stamp', async () => {
    const { uid, name } = await createImage({ frozen: true, description: 'keep' });
    const before = await call<Record_>('GET', `/image/${uid}`);
    for (const res of [
      await call<Record_>('PATCH', `/image/${uid}`, { body: { frozen: true } }),
      await call<Record_>('PUT', `/image/${uid}`, { body: { name, description: 'keep', frozen: true } }),
    ]) {
      expect(res.status).toBe(200);
      expect(res.body.data).toEqual(before.body.data);
    }
    const after = await call<Record_>('GET', `/image/${uid}`);
    expect(after.headers.get('etag')).toBe(before.headers.get('etag'));
    expect(after.body.data).toEqual(before.body.data);
  });
});

describe('PUT /image/{id}', () => {
  it('replaces all editable fields and clears the absent ones', async () => {
    const parent = await createImage();
    const { uid, name } = await createImage({ description: 'd', distro: 'x', parent: parent.uid });
    const res = await call<Record_>('PUT', `/image/${uid}`, { body: { name, distro: 'Alma' } });
    expect(res.status).toBe(200);
    expect(res.body.data).toMatchObject({ name, description: null, parent: null, distro: 'Alma', frozen: false });
  });

  it('needs a name', async () => {
    const { uid } = await createImage();
    const res = await call('PUT', `/image/${uid}`, { body: { description: 'no name' } });
    expect(res.status).toBe(400);
    expect(res.body.reason).toMatch(/^invalid image: name: /);
  });
});

describe('DELETE /image/{id}', () => {
  it('deletes the record and frees its name at once', async () => {
    const { uid, name } = await createImage();
    const res = await call('DELETE', `/image/${name}`);
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ success: true, data: uid });
    expect((await call('GET', `/image/${uid}`)).status).toBe(404);
    const again = await createImage({ name });
    expect(again.uid).not.toBe(uid);
  });

  it('answers 404 for an image that is not there', async () => {
    const res = await call('DELETE', `/image/${uniqueName()}`);
    expect(res.status).toBe(404);
  });
});

describe('GET /images', () => {
  it('lists images keyed by UID, in name order, with paging to the end', async () => {
    const prefix = uniqueName('page');
    const created = [];
    for (let i = 0; i < 7; i++) created.push(await createImage({ name: `${prefix}-${i}`, distro: prefix }));
    const seen: string[] = [];
    let next: string | undefined;
    let pages = 0;
    do {
      const res = await call<Record<string, Record_>>(
        'GET',
        `/images?distro=${prefix}&limit=3${next ? `&next=${encodeURIComponent(next)}` : ''}`,
      );
      expect(res.status).toBe(200);
      const entries = Object.entries(res.body.data ?? {});
      for (const [uid, record] of entries) {
        expect(record.uid).toBe(uid);
        seen.push(record.name);
      }
      expect(entries.length).toBeLessThanOrEqual(3);
      next = res.body.next;
      pages++;
    } while (next && pages < 10);
    expect(seen).toEqual(created.map((c) => c.name));
    expect(pages).toBe(3);
  });

  it('filters by name, by parent (UID or name) and by distro', async () => {
    const parent = await createImage();
    const child = await createImage({ parent: parent.uid, distro: 'filter-distro' });
    const byName = await call<Record<string, Record_>>('GET', `/images?name=${child.name}`);
    expect(Object.keys(byName.body.data ?? {})).toEqual([child.uid]);
    const byParentName = await call<Record<string, Record_>>('GET', `/images?parent=${parent.name}`);
    expect(Object.keys(byParentName.body.data ?? {})).toEqual([child.uid]);
    const byParentUid = await call<Record<string, Record_>>('GET', `/images?parent=${parent.uid}&distro=filter-distro`);
    expect(Object.keys(byParentUid.body.data ?? {})).toEqual([child.uid]);
    const none = await call<Record<string, Record_>>('GET', `/images?name=${child.name}&distro=other`);
    expect(none.body.data).toEqual({});
    const unknownParent = await call<Record<string, Record_>>('GET', '/images?parent=nobody-here');
    expect(unknownParent.body).toEqual({ success: true, data: {} });
  });

  it('finds the children of a deleted parent by its UID, as their records still name it', async () => {
    const parent = await createImage();
    const child = await createImage({ parent: parent.uid });
    expect((await call('DELETE', `/image/${parent.uid}`)).status).toBe(200);
    expect((await call<Record_>('GET', `/image/${child.uid}`)).body.data?.parent).toBe(parent.uid);
    for (const query of [`parent=${parent.uid}`, `parent=${parent.uid.toUpperCase()}`, `name=${child.name}&parent=${parent.uid}`]) {
      const res = await call<Record<string, Record_>>('GET', `/images?${query}`);
      expect(Object.keys(res.body.data ?? {}), query).toEqual([child.uid]);
    }
    // By name the parent is gone: nothing is named that any more.
    expect((await call('GET', `/images?parent=${parent.name}`)).body).toEqual({ success: true, data: {} });
  });

  it('refuses a bad limit, an unknown parameter and a forged cursor', async () => {
    for (const [q, reason] of [
      ['limit=0', /limit: must be at least 1/],
      ['limit=abc', /limit/],
      ['limit=5000', /at most 1000/],
      ['limit=1e2', /limit: must be a whole number/],
      ['limit=1234567890', /limit: must be at most 1000/],
      ['limit=', /limit: must be a whole number/],
      ['name=some-image&name=some-image', /name: must be given once/],
      ['color=red', /color/],
      ['next=garbage', /next is not a cursor/],
      [
        `next=${Buffer.from(JSON.stringify({ pk: '', gsi1pk: IMAGES_PARTITION, gsi1sk: 'a' })).toString('base64url')}`,
        /next is not a cursor/,
      ],
      [
        `next=${Buffer.from(JSON.stringify({ ...keys.file('x'), gsi1pk: RELEASED_FILES_PARTITION, gsi1sk: 'x' })).toString('base64url')}`,
        /next is not a cursor/,
      ],
    ] as const) {
      const res = await call('GET', `/images?${q}`);
      expect(res.status, q).toBe(400);
      expect(res.body.reason, q).toMatch(reason);
    }
  });
});
