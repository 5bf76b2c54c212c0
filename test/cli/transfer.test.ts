/**
 * imgctl upload / download against the local stack: parallel parts, resume
 * after a killed process (only the missing parts or ranges move), checksum
 * verification, and refusals.
 */
import { randomBytes } from 'node:crypto';
import { chmod, mkdir, readdir, readFile, stat, utimes, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { dirname, join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { call, createImage, stack } from '../integration/api.js';
import { countLines, expectCode, imgctl, newHome, sha1OfFile } from './helpers.js';

const MIB = 1024 * 1024;
let home: string;
const run = (args: string[], options: Partial<Parameters<typeof imgctl>[1]> = {}) => imgctl(args, { home, ...options });

interface UploadState {
  upload_id: string;
  path: string;
  size: number;
  sha1?: string;
}

/** The upload state imgctl keeps for an image (upload id and file identity; the sha1 once the file is read through). */
async function uploadState(uid: string): Promise<UploadState | undefined> {
  try {
    return JSON.parse(await readFile(join(home, '.local/state/imgctl/uploads', `${uid}.json`), 'utf8')) as UploadState;
  } catch {
    return undefined;
  }
}

async function randomFile(name: string, size: number): Promise<string> {
  const path = join(home, name);
  await writeFile(path, randomBytes(size));
  return path;
}

const PART_SENT = /^\[imgctl\] part \d+\/\d+ sent/;
const RANGE_WRITTEN = /^\[imgctl\] range \d+-\d+ written/;
const BUFFERS = /^\[imgctl\] sha1 [0-9a-f]{40}; (\d+) part buffers of ([\d.]+ MiB) used \(at most concurrency \+ 1 = (\d+)\)$/m;
/** The sha1 pass imgctl used to make before sending (and still makes to check an upload it did not send itself). */
const SEPARATE_HASH = /^\[imgctl\] sha1 [0-9a-f]{40} \(/m;

beforeAll(async () => {
  home = await newHome();
});

describe('upload and download', () => {
  it('uploads 16 MiB in 5 MiB parts, the service agrees on the sha1, and it downloads back intact', async () => {
    const image = await createImage();
    const file = await randomFile('big.img', 16 * MIB + 123);
    const sha1 = await sha1OfFile(file);

    const up = expectCode(await run(['upload', image.name, file, '--part-size', '5M', '-c', '4', '-v', '--fmt', 'raw']), 0);
    expect(countLines(up.stderr, PART_SENT)).toBe(4);
    // One read: the sha1 comes from the parts as they were read, and goes with the completion.
    expect(up.stderr).not.toMatch(SEPARATE_HASH);
    expect(up.stderr).toMatch(new RegExp(`completed upload [0-9a-f]+ with sha1 ${sha1}; state hashing`));
    // Memory: at most concurrency + 1 part buffers.
    const buffers = BUFFERS.exec(up.stderr);
    expect(buffers?.slice(2)).toEqual(['5.0 MiB', '5']);
    expect(Number(buffers?.[1])).toBeLessThanOrEqual(5);
    expect(up.stdout).toContain(`sha1:${sha1} checked by the service`);
    // Not a terminal: no progress bar drawn.
    expect(up.stderr).not.toMatch(/\r|\u2588|\u2591/);
    expect(await uploadState(image.uid)).toBeUndefined();

    const info = JSON.parse(expectCode(await run(['info', image.name, '--json']), 0).stdout) as Record<string, unknown>;
    expect(info).toEqual((await call('GET', `/image/${image.uid}/content/info`)).body.data);
    expect(info).toMatchObject({ size: 16 * MIB + 123, chksum: `sha1:${sha1}`, refcnt: 1, fmt: 'raw' });
    const statJson = JSON.parse(expectCode(await run(['stat', image.uid, '--json']), 0).stdout) as Record<string, unknown>;
    expect(statJson).toEqual({ size: 16 * MIB + 123, mtime: info['mtime'] });
    expect(expectCode(await run(['info', image.name]), 0).stdout).toMatch(/chksum:\s+sha1:[0-9a-f]{40}/);
    expect(expectCode(await run(['stat', image.name]), 0).stdout).toMatch(/size:\s+16\.0 MiB \(16777339 bytes\)/);

    // The default target is <name>.<fmt> in the working directory.
    const dl = expectCode(await run(['download', image.name, '--chunk-size', '4M', '-q'], { cwd: home }), 0);
    expect(dl.stderr).toBe('');
    const target = join(home, `${image.name}.raw`);
    expect(await sha1OfFile(target)).toBe(sha1);
    expect(await readdir(home)).not.toContain(`${image.name}.raw.part`);

    // An existing file is not overwritten without --force.
    const exists = expectCode(await run(['download', image.name, target]), 1);
    expect(exists.stderr).toContain('--force');
    expectCode(await run(['download', image.name, target, '--force', '-q']), 0);

    // A reader may download but not upload.
    expectCode(await run(['download', image.uid, join(home, 'by-reader.img'), '-q'], { token: stack().tokens.reader }), 0);
    const refused = expectCode(await run(['upload', image.uid, file, '--fmt', 'raw'], { token: stack().tokens.reader }), 1);
    expect(refused.stderr).toMatch(/refused \(HTTP 403\).*admin/);
  });

  it('an upload killed after 2 of 4 parts resumes with only the missing parts and ends with a matching sha1', async () => {
    const image = await createImage();
    const file = await randomFile('resume.img', 16 * MIB + 7);
    const sha1 = await sha1OfFile(file);

    const killed = await run(['upload', image.name, file, '--part-size', '5M', '-c', '1', '-v', '--fmt', 'raw'], {
      env: { IMGCTL_TEST_KILL_AFTER_PARTS: '2' },
    });
    expect(killed.signal).toBe('SIGKILL');
    expect(countLines(killed.stderr, PART_SENT)).toBe(2);

    // What S3 holds before the resume: the two parts sent. The file was not
    // read through, so there is no sha1 yet (it is computed while sending).
    const state = await uploadState(image.uid);
    expect(state).toMatchObject({ path: file, size: 16 * MIB + 7 });
    expect(state?.sha1).toBeUndefined();
    const session = (
      await call<{ state: string; parts_done: unknown[]; part_count: number }>(
        'GET',
        `/image/${image.uid}/content/upload/${state?.upload_id ?? ''}`,
      )
    ).body.data;
    expect(session).toMatchObject({ state: 'uploading', part_count: 4 });
    expect(session?.parts_done).toHaveLength(2);

    const resumed = expectCode(await run(['upload', image.name, file, '-v', '--fmt', 'raw']), 0);
    expect(resumed.stderr).toContain(`resuming upload ${state?.upload_id ?? ''}: S3 holds 2 of 4 parts`);
    // Parts 1 and 2 are read and hashed again (the sha1 covers the whole file), but only 3 and 4 are sent.
    expect(countLines(resumed.stderr, PART_SENT)).toBe(2);
    expect(resumed.stderr).toMatch(/^\[imgctl\] part 3\/4 sent/m);
    expect(resumed.stderr).toMatch(/^\[imgctl\] part 4\/4 sent/m);
    expect(resumed.stderr).toContain('sent 6.0 MiB in 2 parts (2 of 4 parts were already in S3, read only to hash them)');
    expect(resumed.stderr).toMatch(new RegExp(`completed upload ${state?.upload_id ?? ''} with sha1 ${sha1}`));
    expect(resumed.stderr).not.toMatch(/PUT \/api\/v1\/image\/[0-9a-f]+\/content -> 201/);
    expect(resumed.stdout).toContain(`sha1:${sha1} checked by the service`);
    expect((await call('GET', `/image/${image.uid}/content/info`)).body.data).toMatchObject({ chksum: `sha1:${sha1}` });
    expect(await uploadState(image.uid)).toBeUndefined();
  });

  it('--no-wait leaves the check to a later run, which waits for it and compares without sending or reading again', async () => {
    const image = await createImage();
    const file = await randomFile('nowait.img', 3 * MIB);
    const sha1 = await sha1OfFile(file);
    const first = expectCode(await run(['upload', image.name, file, '--no-wait', '--json', '--fmt', 'raw']), 0);
    expect(JSON.parse(first.stdout)).toMatchObject({ sha1, parts_sent: 1 });
    expect(await uploadState(image.uid)).toMatchObject({ sha1 });

    const again = expectCode(await run(['upload', image.name, file, '-v', '--fmt', 'raw']), 0);
    expect(countLines(again.stderr, PART_SENT)).toBe(0);
    expect(again.stderr).not.toMatch(SEPARATE_HASH);
    expect(again.stdout).toContain(`sha1:${sha1} checked by the service`);
    expect(await uploadState(image.uid)).toBeUndefined();
  });

  it('a file changed after an interrupted upload starts a new session and aborts the old one', async () => {
    const image = await createImage();
    const file = await randomFile('changed.img', 11 * MIB);
    await run(['upload', image.name, file, '--part-size', '5M', '-c', '1', '--fmt', 'raw'], { env: { IMGCTL_TEST_KILL_AFTER_PARTS: '1' } });
    const old = await uploadState(image.uid);
    expect(old).toBeDefined();
    await writeFile(file, randomBytes(11 * MIB));
    await utimes(file, new Date(), new Date(Date.now() + 5000));

    const again = expectCode(await run(['upload', image.name, file, '--part-size', '5M', '--fmt', 'raw']), 0);
    expect(again.stderr).toContain('starting over');
    const oldSession = (await call<{ state: string }>('GET', `/image/${image.uid}/content/upload/${old?.upload_id ?? ''}`)).body.data;
    expect(oldSession?.state).toBe('aborted');
    expect((await call('GET', `/image/${image.uid}/content/info`)).body.data).toMatchObject({ chksum: `sha1:${await sha1OfFile(file)}` });
  });

  it('a download killed mid-way resumes only the missing ranges; a corrupted partial file fails verification (exit 3) and is kept', async () => {
    const image = await createImage();
    const file = await randomFile('source.img', 12 * MIB + 5);
    const sha1 = await sha1OfFile(file);
    expectCode(await run(['upload', image.uid, file, '--part-size', '5M', '-q', '--fmt', 'raw']), 0);

    const target = join(home, 'partial.img');
    const killed = await run(['download', image.name, target, '--chunk-size', '3M', '-c', '1'], {
      env: { IMGCTL_TEST_KILL_AFTER_CHUNKS: '2' },
    });
    expect(killed.signal).toBe('SIGKILL');
    const sidecar = JSON.parse(await readFile(`${target}.part`, 'utf8')) as { done: [number, number][]; chksum: string };
    expect(sidecar).toMatchObject({ chksum: `sha1:${sha1}`, done: [[0, 6 * MIB - 1]] });

    const resumed = expectCode(await run(['download', image.name, target, '--chunk-size', '3M', '-v']), 0);
    expect(resumed.stderr).toContain('resuming');
    // 12 MiB + 5 bytes, 6 MiB already there: ranges of 3, 3 and the 5-byte tail.
    expect(countLines(resumed.stderr, RANGE_WRITTEN)).toBe(3);
    expect(await sha1OfFile(target)).toBe(sha1);

    // Interrupted again, then the written part is damaged on disk before the resume.
    const damaged = join(home, 'damaged.img');
    await run(['download', image.name, damaged, '--chunk-size', '3M', '-c', '1'], { env: { IMGCTL_TEST_KILL_AFTER_CHUNKS: '1' } });
    const bytes = await readFile(damaged);
    bytes[1000] = (bytes[1000] ?? 0) ^ 0xff;
    await writeFile(damaged, bytes);
    const failed = expectCode(await run(['download', image.name, damaged, '--chunk-size', '3M']), 3);
    expect(failed.stderr).toMatch(/damaged\.img does not match the image: it hashes to sha1:[0-9a-f]{40}, the service says sha1:/);
    expect(failed.stderr).toContain('kept');
    expect((await stat(damaged)).size).toBe(12 * MIB + 5);
  });

  it('a partial download whose image has new content since starts over, without --force', async () => {
    const image = await createImage();
    const first = await randomFile('first.img', 8 * MIB);
    expectCode(await run(['upload', image.uid, first, '--part-size', '5M', '-q', '--fmt', 'raw']), 0);
    const target = join(home, 'changing.img');
    const killed = await run(['download', image.name, target, '--chunk-size', '2M', '-c', '1'], {
      env: { IMGCTL_TEST_KILL_AFTER_CHUNKS: '1' },
    });
    expect(killed.signal).toBe('SIGKILL');

    const second = await randomFile('second.img', 7 * MIB + 3);
    expectCode(await run(['upload', image.uid, second, '--part-size', '5M', '-q', '--fmt', 'raw']), 0);
    const again = expectCode(await run(['download', image.name, target, '--chunk-size', '2M']), 0);
    expect(again.stderr).toContain('starting over');
    expect(await sha1OfFile(target)).toBe(await sha1OfFile(second));
    expect((await stat(target)).size).toBe(7 * MIB + 3);

    // The sidecar written next to the target leaves that directory's mode alone.
    const shared = join(home, 'shared');
    await mkdir(shared, { mode: 0o755 });
    await chmod(shared, 0o755);
    expectCode(await run(['download', image.name, join(shared, 'copy.img'), '-q']), 0);
    expect((await stat(shared)).mode & 0o777).toBe(0o755);

    // A file imgctl did not start is still only overwritten with --force; a directory is no target.
    const foreign = await randomFile('foreign.img', 10);
    expect(expectCode(await run(['download', image.name, foreign]), 1).stderr).toContain('--force');
    expect(expectCode(await run(['download', image.name, home]), 2).stderr).toContain('is a directory');
  });

  it('one upload per image at a time: a second imgctl is refused while the first holds the lock', async () => {
    const image = await createImage();
    const file = await randomFile('locked.img', 1000);
    const lock = join(home, '.local/state/imgctl/uploads', `${image.uid}.lock`);
    await mkdir(dirname(lock), { recursive: true });
    // A live holder: this test process stands in for the first imgctl.
    await writeFile(lock, JSON.stringify({ pid: process.pid, host: hostname() }));
    const refused = expectCode(await run(['upload', image.name, file, '--fmt', 'raw']), 1);
    expect(refused.stderr).toContain(`another imgctl (pid ${process.pid} on ${hostname()}) is uploading to this image`);
    expect(refused.stderr).toContain(`if none runs, remove ${lock}`);
    // One on another host (a shared home) cannot be checked: also refused.
    await writeFile(lock, JSON.stringify({ pid: 1, host: 'elsewhere' }));
    expect(expectCode(await run(['upload', image.name, file, '--fmt', 'raw']), 1).stderr).toContain('(pid 1 on elsewhere)');
    expect((await call('GET', `/image/${image.uid}/content/info`)).status).toBe(404);
    // Its holder gone (as after a kill, which the resume test above goes through), the lock is taken over and released.
    await writeFile(lock, JSON.stringify({ pid: 999999999, host: hostname() }));
    expectCode(await run(['upload', image.name, file, '-q', '--fmt', 'raw']), 0);
    expect((await readdir(dirname(lock))).filter((f) => f.startsWith(image.uid))).toEqual([]);
  });

  it('refuses an upload to a frozen image with the reason', async () => {
    const image = await createImage({ frozen: true });
    const file = await randomFile('frozen.img', 1000);
    const refused = expectCode(await run(['upload', image.name, file, '--fmt', 'raw']), 1);
    expect(refused.stderr).toMatch(/refused \(HTTP 403\): .*frozen/);
    const noContent = expectCode(await run(['info', image.name]), 1);
    expect(noContent.stderr).toMatch(/refused \(HTTP 404\): .*no content/);
  });
});
