/**
 * Crashes at bad moments: the whole stack SIGKILLed mid-upload, mid-hash and
 * mid-burst of concurrent writes, DynamoDB Local killed alone, a stale lock
 * left behind. After each restart the content invariants hold
 * (test/integration/invariants.ts): refcnt equals the references, no record
 * points at a missing object, no object without a record once the sweeper
 * (run at every start) has been, and every session reaches a final state.
 *
 * The scenarios share one stack process and data directory, in order.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { holderOf, LOCK_FILE, parseHolder } from '../../local/data-lock.js';
import { call, createImage, uniqueName } from '../integration/api.js';
import { assertInvariants } from '../integration/invariants.js';
import {
  complete,
  downloadFollowing,
  expectData,
  makeContent,
  MIB,
  PART,
  sha1Hex,
  startUpload,
  uploadAndComplete,
  uploadContent,
  uploadParts,
  waitForState,
} from '../integration/upload-client.js';
import { env, javaPids, killStack, output, startStack, stopStack, until } from './stack-process.js';

/** Invariants are checked for this long after a restart: the sweep at start runs alongside. */
const SETTLE_MS = 60_000;
/** A session must be final within this long after the restart that follows a crash. */
const FINAL_MS = 120_000;

beforeAll(startStack);
afterAll(stopStack);

/** Clones of `base` made and deleted at once, `n` in flight; resolves with the names tried. */
function burst(base: string, n: number, onSettled: (settled: number) => void): { names: string[]; done: Promise<unknown> } {
  let settled = 0;
  const names = Array.from({ length: n }, () => uniqueName('burst'));
  const done = Promise.allSettled(
    names.map(async (name, i) => {
      try {
        const cloned = await call('POST', `/image/${base}/clone`, { body: { name } });
        if (cloned.status === 201 && i % 2 === 0) await call('DELETE', `/image/${name}`);
        await call('PATCH', `/image/${base}`, { body: { description: `burst ${i}` } });
      } finally {
        onSettled(++settled);
      }
    }),
  );
  return { names, done };
}

/** UIDs of the images that exist under these names now. */
async function existing(names: string[]): Promise<string[]> {
  const found = await Promise.all(names.map((name) => call<{ uid: string }>('GET', `/image/${name}`)));
  return found.flatMap((r) => (r.status === 200 && r.body.data ? [r.body.data.uid] : []));
}

describe('crash scenarios', () => {
  it('SIGKILL mid-upload: the upload resumes after the restart and verifies', async () => {
    const { uid, name } = await createImage();
    const data = makeContent(1, MIB);
    const session = await startUpload(name, { size: data.length, part_size: PART });
    const first = await uploadParts(session, data, [1]);
    const inFlight = uploadParts(session, data, [2]).catch(() => undefined);
    await killStack();
    await inFlight;
    await startStack();

    const second = await uploadParts(session, data, [2]);
    expectData(await complete(name, session.upload_id, [...first, ...second]), 202, 'complete after the restart');
    const done = await waitForState(name, session.upload_id, ['ready', 'failed'], FINAL_MS);
    expect(done.state).toBe('ready');
    const got = await downloadFollowing(name);
    expect(sha1Hex(got.bytes)).toBe(sha1Hex(data));
    await assertInvariants({ images: [uid], files: [session.upload_id] }, SETTLE_MS);
  });

  // The killed run's event is still pending and runs again at the restart; if the run's lease has not
  // lapsed by then, the re-drive (at start and every few seconds, global-setup.ts) hashes it once quiet.
  it('SIGKILL mid-hash: the session becomes final by itself after the restart', async () => {
    const { uid, name } = await createImage();
    const data = randomBytes(4 * MIB); // hashed in 64 KiB ranges one at a time (global-setup.ts)
    const accepted = await uploadAndComplete(name, data);
    await killStack();
    await startStack();

    const final = await waitForState(name, accepted.upload_id, ['ready', 'failed'], FINAL_MS);
    if (final.state === 'ready') expect(sha1Hex((await downloadFollowing(name)).bytes)).toBe(sha1Hex(data));
    await assertInvariants({ images: [uid], files: [accepted.upload_id] }, SETTLE_MS);
  });

  it('SIGKILL mid-burst of concurrent clones, deletes and updates: references and objects stay consistent', async () => {
    const { uid, name } = await createImage();
    const upload = await uploadContent(name, randomBytes(MIB));
    expect(upload.state).toBe('ready');
    let killing: Promise<void> | undefined;
    const { names, done } = burst(name, 30, (settled) => {
      if (settled === 10) killing = killStack();
    });
    await done;
    await killing;
    await startStack();

    const clones = await existing(names);
    await assertInvariants({ images: [uid, ...clones], files: [upload.upload_id] }, SETTLE_MS);
  });

  it('DynamoDB Local killed alone mid-burst: the stack starts it again and the data stays consistent', async () => {
    const { uid, name } = await createImage();
    const upload = await uploadContent(name, randomBytes(MIB));
    const [java] = javaPids();
    const { names, done } = burst(name, 30, (settled) => {
      if (settled === 10) process.kill(java!, 'SIGKILL');
    });
    await done;
    await until(
      () => /DynamoDB Local killed by SIGKILL .*: starting it again on the same data/.test(output()),
      10_000,
      'the stack to notice',
    );
    await until(async () => (await call('GET', `/image/${uid}`)).status === 200, FINAL_MS, 'the API to answer again');
    expect(javaPids()).toHaveLength(1);
    expect(javaPids()).not.toContain(java);

    // Requests that failed mid-way may leave a released file for the sweeper, which runs at start.
    await stopStack();
    await startStack();
    const clones = await existing(names);
    await assertInvariants({ images: [uid, ...clones], files: [upload.upload_id] }, SETTLE_MS);
  });

  it('a stale lock whose pid now names another process does not block the restart', async () => {
    const { uid, name } = await createImage();
    const upload = await uploadContent(name, randomBytes(MIB));
    await killStack();
    // As after a container restart: the crashed stack's pid now belongs to a process that started later.
    const lock = join(env()['DATA_DIR']!, LOCK_FILE);
    writeFileSync(lock, JSON.stringify({ ...holderOf(process.pid), start: '1' }));
    await startStack();

    expect(output()).not.toMatch(/another local stack/);
    expect(parseHolder(readFileSync(lock, 'utf8'))?.pid).not.toBe(process.pid);
    await assertInvariants({ images: [uid], files: [upload.upload_id] }, SETTLE_MS);
  });
});
