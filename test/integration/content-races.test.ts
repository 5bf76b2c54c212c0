/**
 * Orderings the hasher and the content routes must survive: repeated, late
 * and racing S3 events, two uploads racing on one image, clones and deletes
 * interleaved. After each, the scoped invariants (refcnt = referring images;
 * an object exactly for each file with refcnt > 0; name guards) must hold.
 *
 * The stack's own hasher runs in the global setup's process; to deliver an
 * event again, this file loads the same handler module here, pointed at the
 * same DynamoDB Local and S3 through the SDK's standard variables.
 */
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import type { Context, S3Event } from 'aws-lambda';
import { beforeAll, describe as group, expect, it } from 'vitest';
import { call, createImage, stack, uniqueName } from './api.js';
import { useStackEnvironment } from './in-process.js';
import { objectCreated } from '../unit/events.js';
import { assertInvariants } from './invariants.js';
import {
  PART,
  complete,
  downloadFollowing,
  expectData,
  makeContent,
  sha1Hex,
  startUpload,
  testDdb,
  testS3,
  uploadAndComplete,
  uploadContent,
  eventually,
  uploadParts,
  waitForState,
  type Session,
  contentInfo,
  objectExists,
} from './upload-client.js';
import { contentKey, keys } from '../../functions/core/db/schema.js';

type Outcome = 'ready' | 'failed' | 'duplicate' | 'unknown';
type Hasher = (event: S3Event, context: Context) => Promise<Outcome[]>;

let hasher: Hasher;
let lambdaContext: (name: string, timeoutMs: number) => Context;

beforeAll(async () => {
  useStackEnvironment();
  // Loaded only now: the modules read the environment set above.
  const mod = await import('../../functions/hasher.js');
  hasher = mod.handler as unknown as Hasher;
  ({ lambdaContext } = await import('../lambda-context.js'));
});

/** An S3 notification for one object, as S3 sends it to the hasher. */
const s3Event = (key: string, size: number, eventName?: string): S3Event => objectCreated(stack().bucket, key, size, '', eventName);

/** Delivers the event for an upload's object again, in this process. */
const redeliver = (uploadId: string, size: number, eventName?: string): Promise<Outcome[]> =>
  hasher(s3Event(contentKey(uploadId), size, eventName), lambdaContext('image-service-hasher', 60_000));

interface ImageRecord {
  uid: string;
  content: Record<string, unknown>;
  last_modified: number;
}

const record = async (image: string) => expectData(await call<ImageRecord>('GET', `/image/${image}`), 200, `record ${image}`);
const fileItem = async (uid: string) =>
  (await testDdb().send(new GetCommand({ TableName: stack().tableName, Key: keys.file(uid), ConsistentRead: true }))).Item;
const completedAt = async (uploadId: string): Promise<number> => {
  const out = await testDdb().send(new GetCommand({ TableName: stack().tableName, Key: keys.upload(uploadId), ConsistentRead: true }));
  const at = out.Item?.['completed_at'];
  if (typeof at !== 'number') throw new Error(`upload ${uploadId} has no completed_at`);
  return at;
};

/**
 * The file is collected: no FILE item, no object. A file released by the
 * hasher is collected just after the session shows `ready`, so this polls.
 */
const collected = (uid: string): Promise<true> =>
  eventually(
    async () => ((await fileItem(uid)) === undefined && !(await objectExists(contentKey(uid))) ? true : undefined),
    `file ${uid} to be collected`,
    10_000,
  );

/** The file an image's content is, by its record. */
async function contentUid(image: string): Promise<string | undefined> {
  const content = (await record(image)).content;
  const entry = Object.values(content).find((v): v is { uid: string } => typeof v === 'object' && v !== null && 'uid' in v);
  return entry?.uid;
}

group('repeated and late S3 events', () => {
  it('a repeated event after the hasher finished changes nothing', async () => {
    const image = await createImage();
    const data = makeContent(1, 77);
    const done = await uploadContent(image.uid, data);
    expect(done.state).toBe('ready');
    const before = { info: await contentInfo(image.uid), record: await record(image.uid) };

    const outcomes = await Promise.all([redeliver(done.upload_id, data.length), redeliver(done.upload_id, data.length)]);
    expect(outcomes).toEqual([['duplicate'], ['duplicate']]);

    expect(await contentInfo(image.uid)).toEqual(before.info);
    expect(await record(image.uid)).toEqual(before.record);
    expect((await waitForState(image.uid, done.upload_id)).state).toBe('ready');
    expect((await downloadFollowing(image.uid)).bytes.equals(data)).toBe(true);
    await assertInvariants({ images: [image.uid], files: [done.upload_id] });
  });

  it("an event delivered twice at once, racing the stack's own delivery, switches the content once", async () => {
    const images: string[] = [];
    const files: string[] = [];
    for (let round = 0; round < 3; round++) {
      const image = await createImage();
      images.push(image.uid);
      const old = makeContent(0, 3_000);
      const first = await uploadContent(image.uid, old);
      files.push(first.upload_id);

      const data = makeContent(2, round * 1_000 + 1);
      const accepted = await uploadAndComplete(image.uid, data);
      files.push(accepted.upload_id);
      // The stack delivers its own event for this completion at the same time.
      const ours = await Promise.all([redeliver(accepted.upload_id, data.length), redeliver(accepted.upload_id, data.length)]);
      // A run that finds another holding the session's lease leaves the hashing to it (busy).
      for (const o of ours) expect(['ready', 'duplicate', 'busy']).toContain(o[0]);
      expect(ours.filter((o) => o[0] === 'ready').length).toBeLessThanOrEqual(1);

      expect((await waitForState(image.uid, accepted.upload_id)).state).toBe('ready');
      expect(await contentInfo(image.uid)).toMatchObject({ chksum: `sha1:${sha1Hex(data)}`, refcnt: 1, size: data.length });
      expect(await contentUid(image.uid)).toBe(accepted.upload_id);
      await collected(first.upload_id);
      expect((await downloadFollowing(image.uid)).bytes.equals(data)).toBe(true);
    }
    await assertInvariants({ images, files });
  });

  it('a late event for a superseded upload never brings its content back', async () => {
    const image = await createImage();
    const a = makeContent(0, 11_111);
    const b = makeContent(0, 22_222);
    const first = await uploadContent(image.uid, a);
    const second = await uploadContent(image.uid, b);
    expect([first.state, second.state]).toEqual(['ready', 'ready']);
    // The first file was released and collected when the second replaced it.
    await collected(first.upload_id);

    expect(await redeliver(first.upload_id, a.length)).toEqual(['duplicate']);
    expect(await redeliver(second.upload_id, b.length)).toEqual(['duplicate']);
    expect(await contentUid(image.uid)).toBe(second.upload_id);
    expect((await downloadFollowing(image.uid)).bytes.equals(b)).toBe(true);
    await assertInvariants({ images: [image.uid], files: [first.upload_id, second.upload_id] });
  });

  it('a repeated event for a failed upload changes nothing', async () => {
    const image = await createImage();
    const old = makeContent(0, 500);
    const first = await uploadContent(image.uid, old);
    const data = makeContent(0, 600);
    const failed = await uploadContent(image.uid, data, { sha1: sha1Hex(old) });
    expect(failed.state).toBe('failed');

    expect(await redeliver(failed.upload_id, data.length)).toEqual(['duplicate']);
    const seen = await waitForState(image.uid, failed.upload_id);
    expect(seen).toMatchObject({ state: 'failed', reason: failed.reason });
    expect((await downloadFollowing(image.uid)).bytes.equals(old)).toBe(true);
    await assertInvariants({ images: [image.uid], files: [first.upload_id, failed.upload_id] });
  });

  it('a retried event finishes collecting the file its first run released but did not collect', async () => {
    const image = await createImage();
    const a = makeContent(0, 4_444);
    const b = makeContent(0, 5_555);
    const first = await uploadContent(image.uid, a);
    const second = await uploadContent(image.uid, b);
    await collected(first.upload_id);
    // Put back what a run that crashed right after its transaction leaves: the released
    // file's item at refcnt 0 and its object (as if collectFile never ran, or failed midway).
    const item = {
      ...keys.file(first.upload_id),
      kind: 'file',
      uid: first.upload_id,
      key: contentKey(first.upload_id),
      fmt: 'cwsquash',
      size: a.length,
      mtime: Math.floor(Date.now() / 1000),
      chksum: `sha1:${sha1Hex(a)}`,
      refcnt: 0,
      state: 'live',
      last_modified: Date.now() / 1000,
    };
    await testDdb().send(new PutCommand({ TableName: stack().tableName, Item: item }));
    await testS3().send(new PutObjectCommand({ Bucket: stack().bucket, Key: item.key, Body: a }));

    // Lambda retries the event: the session is already ready, and the retry completes the collection.
    expect(await redeliver(second.upload_id, b.length)).toEqual(['duplicate']);
    expect(await fileItem(first.upload_id)).toBeUndefined();
    expect(await objectExists(item.key)).toBe(false);
    expect(await contentUid(image.uid)).toBe(second.upload_id);
    expect((await downloadFollowing(image.uid)).bytes.equals(b)).toBe(true);
    await assertInvariants({ images: [image.uid], files: [first.upload_id, second.upload_id] });
  });

  it('a retried event deletes the object of a failed upload that its first run left behind', async () => {
    const image = await createImage();
    const old = makeContent(0, 700);
    const first = await uploadContent(image.uid, old);
    const data = makeContent(0, 800);
    const failed = await uploadContent(image.uid, data, { sha1: sha1Hex(old) });
    expect(failed.state).toBe('failed');
    // As if the run that failed the session died before deleting the object.
    await testS3().send(new PutObjectCommand({ Bucket: stack().bucket, Key: contentKey(failed.upload_id), Body: data }));

    expect(await redeliver(failed.upload_id, data.length)).toEqual(['duplicate']);
    expect(await objectExists(contentKey(failed.upload_id))).toBe(false);
    expect((await downloadFollowing(image.uid)).bytes.equals(old)).toBe(true);
    await assertInvariants({ images: [image.uid], files: [first.upload_id, failed.upload_id] });
  });

  it('events for objects with no session, or for other events, leave everything alone', async () => {
    const stray = 'f'.repeat(32);
    expect(await redeliver(stray, 10)).toEqual(['unknown']);
    expect(await fileItem(stray)).toBeUndefined();

    const image = await createImage();
    const data = makeContent(0, 10);
    const done = await uploadContent(image.uid, data);
    // Removal events and keys outside content/<uid> are not the hasher's business.
    expect(await redeliver(done.upload_id, data.length, 'ObjectRemoved:Delete')).toEqual([]);
    expect(await hasher(s3Event('other/thing', 1), lambdaContext('image-service-hasher', 60_000))).toEqual([]);
    expect(await contentInfo(image.uid)).toMatchObject({ refcnt: 1, chksum: `sha1:${sha1Hex(data)}` });
    await assertInvariants({ images: [image.uid], files: [done.upload_id] });
  });
});

group('two uploads racing on one image', () => {
  /** Starts two sessions and uploads both, ready to complete. */
  async function twoUploads(image: string, sizes: [number, number]) {
    const datas = sizes.map((n) => makeContent(Math.floor(n / PART), n % PART)) as [Buffer, Buffer];
    const sessions = await Promise.all(datas.map((d) => startUpload(image, { size: d.length, part_size: PART })));
    const parts = await Promise.all(sessions.map((s, i) => uploadParts(s, datas[i]!)));
    return { datas, sessions: sessions as [Session, Session], parts };
  }

  /** The later completion wins; the other file is gone; invariants hold. */
  async function checkWinner(image: string, old: Session | undefined, t: Awaited<ReturnType<typeof twoUploads>>) {
    const ends = await Promise.all(t.sessions.map((s) => waitForState(image, s.upload_id)));
    const times = await Promise.all(t.sessions.map((s) => completedAt(s.upload_id)));
    const order = (i: 0 | 1) => `${String(times[i]).padStart(15, '0')}#${t.sessions[i].upload_id}`;
    const w = order(0) > order(1) ? 0 : 1;
    const l = w === 0 ? 1 : 0;

    expect(ends[w]!.state).toBe('ready');
    // The loser either was replaced after it went live (ready) or was refused as superseded (failed).
    if (ends[l]!.state === 'failed') expect(ends[l]!.reason).toMatch(/superseded/);
    else expect(ends[l]!.state).toBe('ready');

    expect(await contentUid(image)).toBe(t.sessions[w].upload_id);
    expect(await contentInfo(image)).toMatchObject({ size: t.datas[w].length, chksum: `sha1:${sha1Hex(t.datas[w])}`, refcnt: 1 });
    expect((await downloadFollowing(image)).bytes.equals(t.datas[w])).toBe(true);
    await collected(t.sessions[l].upload_id);
    if (old) await collected(old.upload_id);
    await assertInvariants({
      images: [image],
      files: [...t.sessions.map((s) => s.upload_id), ...(old ? [old.upload_id] : [])],
    });
    return w;
  }

  it('completed at the same time: both are accepted, one live file remains and it is the later one', async () => {
    for (let round = 0; round < 3; round++) {
      const image = await createImage();
      const old = round === 1 ? await uploadContent(image.uid, makeContent(0, 1234)) : undefined;
      const t = await twoUploads(image.uid, [PART + 10 + round, 2 * PART + 20]);
      const results = await Promise.all(t.sessions.map((s, i) => complete(image.uid, s.upload_id, t.parts[i])));
      expect(results.map((r) => r.status)).toEqual([202, 202]);
      await checkWinner(image.uid, old, t);
    }
  });

  it('the later-completed upload wins even when its hash finishes first', async () => {
    const image = await createImage();
    // The first to complete is large (slow to hash), the second tiny: the second's hasher finishes first.
    const t = await twoUploads(image.uid, [6 * PART + 1, 100]);
    expectData(await complete(image.uid, t.sessions[0].upload_id, t.parts[0]), 202, 'complete large');
    expectData(await complete(image.uid, t.sessions[1].upload_id, t.parts[1]), 202, 'complete small');
    expect(await checkWinner(image.uid, undefined, t)).toBe(1);
    // Delivering the loser's event again changes nothing.
    expect(await redeliver(t.sessions[0].upload_id, t.datas[0].length)).toEqual(['duplicate']);
    expect(await contentUid(image.uid)).toBe(t.sessions[1].upload_id);
  });

  it('the later-completed upload wins when completed in the other order', async () => {
    const image = await createImage();
    const t = await twoUploads(image.uid, [100, 6 * PART + 1]);
    expectData(await complete(image.uid, t.sessions[0].upload_id, t.parts[0]), 202, 'complete small');
    expectData(await complete(image.uid, t.sessions[1].upload_id, t.parts[1]), 202, 'complete large');
    expect(await checkWinner(image.uid, undefined, t)).toBe(1);
  });

  it('two completions of one session at once: exactly one is accepted', async () => {
    const image = await createImage();
    const data = makeContent(1, 5);
    const session = await startUpload(image.uid, { size: data.length, part_size: PART });
    const parts = await uploadParts(session, data);
    const results = await Promise.all([1, 2, 3].map(() => complete(image.uid, session.upload_id, parts)));
    expect(results.map((r) => r.status).sort()).toEqual([202, 409, 409]);
    expect((await waitForState(image.uid, session.upload_id)).state).toBe('ready');
    expect((await downloadFollowing(image.uid)).bytes.equals(data)).toBe(true);
    await assertInvariants({ images: [image.uid], files: [session.upload_id] });
  });

  it('content deleted while an upload is hashing: the image ends without content or with the upload, never dangling', async () => {
    const image = await createImage();
    const old = await uploadContent(image.uid, makeContent(0, 999));
    const data = makeContent(2, 1);
    const accepted = await uploadAndComplete(image.uid, data);
    const del = await call('DELETE', `/image/${image.uid}/content`);
    expect(del.status).toBe(200);
    const end = await waitForState(image.uid, accepted.upload_id);
    // Either the upload went live before the delete (and the delete removed it), or the delete came first
    // and the upload, completed earlier, is refused: a removal is newer than it.
    if (end.state === 'failed') expect(end.reason).toMatch(/superseded/);
    else expect(end.state).toBe('ready');
    expect(await contentUid(image.uid)).toBeUndefined();
    expect((await call('GET', `/image/${image.uid}/content/info`)).status).toBe(404);
    await assertInvariants({ images: [image.uid], files: [old.upload_id, accepted.upload_id] });
  });

  it("image frozen while an upload is hashing: a frozen image's content does not change", async () => {
    const image = await createImage();
    const old = makeContent(0, 1_234);
    const first = await uploadContent(image.uid, old);
    const data = makeContent(6, 1);
    const accepted = await uploadAndComplete(image.uid, data);
    const frozen = expectData(await call<ImageRecord>('PATCH', `/image/${image.uid}`, { body: { frozen: true } }), 200, 'freeze');
    const end = await waitForState(image.uid, accepted.upload_id);
    // The record the freeze returned tells which came first.
    const switchedBeforeFreeze = Object.values(frozen.content).some(
      (v) => typeof v === 'object' && v !== null && 'uid' in v && v.uid === accepted.upload_id,
    );
    if (switchedBeforeFreeze) {
      expect(end.state).toBe('ready');
      expect((await downloadFollowing(image.uid)).bytes.equals(data)).toBe(true);
    } else {
      expect(end.state).toBe('failed');
      expect(end.reason).toMatch(/frozen/);
      expect(await contentUid(image.uid)).toBe(first.upload_id);
      expect((await downloadFollowing(image.uid)).bytes.equals(old)).toBe(true);
      expect((await record(image.uid)).last_modified).toBe(frozen.last_modified);
    }
    expect((await call('PATCH', `/image/${image.uid}`, { body: { frozen: false } })).status).toBe(200);
    await assertInvariants({ images: [image.uid], files: [first.upload_id, accepted.upload_id] });
  });

  it('image deleted while an upload is hashing: nothing is left behind', async () => {
    const image = await createImage();
    const old = await uploadContent(image.uid, makeContent(0, 999));
    const data = makeContent(3, 1);
    const accepted = await uploadAndComplete(image.uid, data);
    expect((await call('DELETE', `/image/${image.uid}`)).status).toBe(200);
    // The session is reachable only through its image, so watch the table.
    const state = await waitForUploadItem(accepted.upload_id);
    expect(['ready', 'failed']).toContain(state);
    expect((await call('GET', `/image/${image.uid}`)).status).toBe(404);
    await assertInvariants({ images: [image.uid], files: [old.upload_id, accepted.upload_id] });
  });
});

/** Polls the UPLOAD item until the hasher has finished with it; bounded. */
async function waitForUploadItem(uploadId: string, timeoutMs = 30_000): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const out = await testDdb().send(new GetCommand({ TableName: stack().tableName, Key: keys.upload(uploadId), ConsistentRead: true }));
    const state = out.Item?.['state'];
    if (state === 'ready' || state === 'failed') return state;
    if (Date.now() > deadline) throw new Error(`upload ${uploadId} still ${String(state)} after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

group('clones and deletes', () => {
  it('clone shares the file (refcnt 2); deleting the original keeps it; deleting the clone removes it', async () => {
    const original = await createImage({ distro: 'rocky9' });
    const data = makeContent(1, 4_096);
    const up = await uploadContent(original.uid, data);
    expect(up.state).toBe('ready');
    const key = contentKey(up.upload_id);

    const cloneName = uniqueName('clone');
    const res = await call<string>('POST', `/image/${original.uid}/clone`, { body: { name: cloneName, description: 'a copy' } });
    const clone = expectData(res, 201, 'clone');
    const cloneRecord = await record(clone);
    expect(cloneRecord.content).toEqual((await record(original.uid)).content);
    expect(await contentUid(clone)).toBe(up.upload_id);
    expect((await contentInfo(original.uid)).refcnt).toBe(2);
    expect(await contentInfo(clone)).toEqual(await contentInfo(original.uid));
    expect((await downloadFollowing(cloneName)).bytes.equals(data)).toBe(true);
    await assertInvariants({ images: [original.uid, clone], files: [up.upload_id] });

    // A name in use is refused and takes no reference.
    expect((await call('POST', `/image/${original.uid}/clone`, { body: { name: cloneName } })).status).toBe(409);
    expect((await contentInfo(original.uid)).refcnt).toBe(2);

    expect((await call('DELETE', `/image/${original.uid}`)).status).toBe(200);
    expect((await call('GET', `/image/${original.uid}`)).status).toBe(404);
    expect((await contentInfo(clone)).refcnt).toBe(1);
    expect(await objectExists(key)).toBe(true);
    expect((await downloadFollowing(clone)).bytes.equals(data)).toBe(true);
    await assertInvariants({ images: [original.uid, clone], files: [up.upload_id] });

    expect((await call('DELETE', `/image/${clone}`)).status).toBe(200);
    expect(await objectExists(key)).toBe(false);
    expect(await fileItem(up.upload_id)).toBeUndefined();
    await assertInvariants({ images: [original.uid, clone], files: [up.upload_id] });
  });

  it('content delete on a clone, then a new upload to the original, collects the shared file', async () => {
    const original = await createImage();
    const data = makeContent(0, 8_000);
    const up = await uploadContent(original.uid, data);
    const clone = expectData(
      await call<string>('POST', `/image/${original.name}/clone`, { body: { name: uniqueName('clone') } }),
      201,
      'clone',
    );
    const clone2 = expectData(
      await call<string>('POST', `/image/${clone}/clone`, { body: { name: uniqueName('clone') } }),
      201,
      'clone of clone',
    );
    expect((await contentInfo(original.uid)).refcnt).toBe(3);

    expect((await call('DELETE', `/image/${clone}/content`)).status).toBe(200);
    expect((await call('GET', `/image/${clone}/content/info`)).status).toBe(404);
    expect((await record(clone)).content).toEqual({});
    expect((await contentInfo(original.uid)).refcnt).toBe(2);
    await assertInvariants({ images: [original.uid, clone, clone2], files: [up.upload_id] });

    const next = makeContent(0, 9_000);
    const up2 = await uploadContent(original.uid, next);
    expect(up2.state).toBe('ready');
    expect((await contentInfo(clone2)).refcnt).toBe(1);
    expect(await objectExists(contentKey(up.upload_id))).toBe(true);
    expect((await downloadFollowing(clone2)).bytes.equals(data)).toBe(true);
    expect((await downloadFollowing(original.uid)).bytes.equals(next)).toBe(true);

    expect((await call('DELETE', `/image/${clone2}/content`)).status).toBe(200);
    expect(await objectExists(contentKey(up.upload_id))).toBe(false);
    expect(await fileItem(up.upload_id)).toBeUndefined();
    await assertInvariants({ images: [original.uid, clone, clone2], files: [up.upload_id, up2.upload_id] });
  });

  it('a clone of an image without content has none, and a clone of a frozen image is allowed and unfrozen', async () => {
    const empty = await createImage({ frozen: true });
    const clone = expectData(
      await call<string>('POST', `/image/${empty.uid}/clone`, { body: { name: uniqueName('clone') } }),
      201,
      'clone',
    );
    expect((await record(clone)).content).toEqual({});
    expect((await call('GET', `/image/${clone}/content`)).status).toBe(404);
    expect(expectData(await call<{ frozen: boolean }>('GET', `/image/${clone}`), 200, 'clone').frozen).toBe(false);
    await assertInvariants({ images: [empty.uid, clone] });
  });

  it('clones and deletes at once keep refcnt exact and collect the file exactly when the last goes', async () => {
    const original = await createImage();
    const data = makeContent(0, 2_048);
    const up = await uploadContent(original.uid, data);
    const names = Array.from({ length: 4 }, () => uniqueName('clone'));
    const clones = (await Promise.all(names.map((name) => call<string>('POST', `/image/${original.uid}/clone`, { body: { name } })))).map(
      (r) => expectData(r, 201, 'clone'),
    );
    expect((await contentInfo(original.uid)).refcnt).toBe(5);
    await assertInvariants({ images: [original.uid, ...clones], files: [up.upload_id] });

    // Delete the original and two clones while cloning a remaining one twice.
    const moreNames = [uniqueName('clone'), uniqueName('clone')];
    const results = await Promise.all([
      call('DELETE', `/image/${original.uid}`),
      call('DELETE', `/image/${clones[0]}`),
      call('DELETE', `/image/${clones[1]}/content`),
      ...moreNames.map((name) => call<string>('POST', `/image/${clones[2]}/clone`, { body: { name } })),
    ]);
    expect(results.map((r) => r.status)).toEqual([200, 200, 200, 201, 201]);
    const more = results.slice(3).map((r) => r.body.data as string);
    const holders = [clones[2]!, clones[3]!, ...more];
    expect((await contentInfo(holders[0]!)).refcnt).toBe(holders.length);
    await assertInvariants({ images: [original.uid, ...clones, ...more], files: [up.upload_id] });

    // Now remove every remaining holder at once: the file goes exactly once, at the end.
    const gone = await Promise.all(holders.map((h, i) => call('DELETE', i % 2 === 0 ? `/image/${h}` : `/image/${h}/content`)));
    expect(gone.map((r) => r.status)).toEqual(holders.map(() => 200));
    expect(await objectExists(contentKey(up.upload_id))).toBe(false);
    expect(await fileItem(up.upload_id)).toBeUndefined();
    await assertInvariants({ images: [original.uid, ...clones, ...more], files: [up.upload_id] });
  });

  it('a clone racing an upload to its source gets the old or the new file, and refcnts stay exact', async () => {
    const original = await createImage();
    const old = makeContent(0, 3_333);
    const up = await uploadContent(original.uid, old);
    const data = makeContent(1, 3);
    const accepted = await uploadAndComplete(original.uid, data);
    const clone = expectData(
      await call<string>('POST', `/image/${original.uid}/clone`, { body: { name: uniqueName('clone') } }),
      201,
      'clone',
    );
    expect((await waitForState(original.uid, accepted.upload_id)).state).toBe('ready');

    const got = await contentUid(clone);
    expect([up.upload_id, accepted.upload_id]).toContain(got);
    const expected = got === up.upload_id ? old : data;
    expect((await downloadFollowing(clone)).bytes.equals(expected)).toBe(true);
    expect((await downloadFollowing(original.uid)).bytes.equals(data)).toBe(true);
    await assertInvariants({ images: [original.uid, clone], files: [up.upload_id, accepted.upload_id] });
  });
});
