/**
 * imgctl capture against the local stack: mksquashfs of a directory tree
 * (run as an unprivileged user when the tests run as root), with excludes
 * and a chosen compression, uploaded through a capture job with an admin
 * token or with the job's credential alone; the result downloaded and read
 * back with unsquashfs. squashfs-tools is required (.ci/run installs it).
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmod, chown, mkdir, mkdtemp, readdir, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { beforeAll, describe, expect, it } from 'vitest';
import { call, createImage } from '../integration/api.js';
import { startCapture, waitForJob } from '../integration/capture-client.js';
import { downloadFollowing } from '../integration/upload-client.js';
import { imgctl, imgctlEntry, newHome } from './helpers.js';

const exec = promisify(execFile);
let home: string;
let work: string;
/** nobody, when the tests run as root: capture must not need root on a directory tree. */
const user = process.getuid?.() === 0 ? { uid: 65534, gid: 65534 } : undefined;

const run = (args: string[], options: Partial<Parameters<typeof imgctl>[1]> = {}) =>
  imgctl(args, { home, cwd: work, ...(user ? { user } : {}), ...options });

/** Gives the whole path to the test's user (mkdtemp makes directories only their owner may enter). */
async function handOver(path: string): Promise<void> {
  if (!user) return;
  await chmod(path, 0o755);
  await chown(path, user.uid, user.gid);
  for (const entry of await readdir(path, { withFileTypes: true, recursive: true })) {
    const p = join(entry.parentPath, entry.name);
    await chown(p, user.uid, user.gid);
  }
}

/** A small root: system-ish files, scratch and cache contents, and a home with a secret. */
async function makeTree(): Promise<string> {
  const root = await mkdtemp(join(work, 'root-'));
  const files: Record<string, Buffer | string> = {
    'etc/hostname': 'node0042\n',
    'etc/os-release': 'ID=debian\n',
    'usr/bin/tool': randomBytes(200_000),
    'var/cache/apt/big.deb': randomBytes(100_000),
    'var/tmp/scratch': 'x',
    'home/alice/.secret': 'password',
    'home/alice/notes.txt': 'keep me',
    'tmp/junk': 'junk',
    'proc/1/status': 'not a real proc',
    swapfile: randomBytes(1000),
  };
  for (const [path, data] of Object.entries(files)) {
    await mkdir(dirname(join(root, path)), { recursive: true });
    await writeFile(join(root, path), data);
  }
  await handOver(root);
  return root;
}

async function downloaded(image: string): Promise<string> {
  const { status, bytes } = await downloadFollowing(image);
  expect(status).toBe(200);
  const file = join(work, `${image}.squashfs`);
  await writeFile(file, bytes);
  return file;
}

/** The paths in the squashfs, relative to its root (unsquashfs -l prints them under squashfs-root). */
async function listing(file: string): Promise<string[]> {
  const { stdout } = await exec('unsquashfs', ['-l', file]);
  return stdout
    .split('\n')
    .filter((l) => l.startsWith('squashfs-root'))
    .map((l) => l.replace(/^squashfs-root\/?/, ''))
    .filter((l) => l !== '');
}

const superblock = async (file: string): Promise<string> => (await exec('unsquashfs', ['-s', file])).stdout;

beforeAll(async () => {
  home = await newHome();
  work = await mkdtemp(join(tmpdir(), 'imgctl-capture-test-'));
  await handOver(home);
  await handOver(work);
  // The bundle's directory too, for an unprivileged child.
  if (user) await chmod(dirname(await imgctlEntry()), 0o755);
});

describe('imgctl capture', () => {
  it('with an admin token: excludes and the chosen compression, read back with unsquashfs', async () => {
    const { uid, name } = await createImage();
    const root = await makeTree();
    const r = await run([
      '--verbose',
      'capture',
      name,
      '--root',
      root,
      '--exclude',
      'var/cache',
      '--exclude',
      '/home/*/.secret',
      '--compress',
      'xz',
      '--node',
      'node0042',
    ]);
    expect(r.stderr).not.toMatch(/error/i);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(new RegExp(`captured into image ${uid}, .* xz squashfs, sha1:[0-9a-f]{40} checked by the service`));
    // The job's status is asked for once, for the verdict: the answer that started the job told the rest.
    expect(r.stderr.match(/ GET \/api\/v1\/capture\/[0-9a-f]{32} -> /g)).toHaveLength(1);

    const file = await downloaded(name);
    const paths = await listing(file);
    expect(paths).toEqual(
      expect.arrayContaining(['etc/hostname', 'etc/os-release', 'usr/bin/tool', 'home/alice/notes.txt', 'var', 'tmp', 'proc']),
    );
    for (const gone of ['var/cache', 'var/cache/apt/big.deb', 'home/alice/.secret', 'tmp/junk', 'var/tmp/scratch', 'proc/1', 'swapfile']) {
      expect(paths, gone).not.toContain(gone);
    }
    expect(await superblock(file)).toMatch(/Compression xz/);

    const jobs = await call<{ node: string; state: string; exclude: string[]; compress: string }[]>('GET', `/image/${name}/capture`);
    expect(jobs.body.data).toEqual([
      expect.objectContaining({ node: 'node0042', state: 'ready', compress: 'xz', exclude: ['var/cache', 'home/*/.secret'] }),
    ]);
    const info = await call<{ fmt: string }>('GET', `/image/${name}/content/info`);
    expect(info.body.data?.fmt).toBe('cwsquash');
  });

  it("with the job's credential alone (no token): the job's excludes and compression; the credential is then used up", async () => {
    const { name } = await createImage();
    const job = await startCapture(name, { uid: 'node0043', exclude: ['usr'], compress: 'lz4' });
    const root = await makeTree();
    const env = { IMGCTL_CAPTURE_CREDENTIAL: job.credential };
    const r = await run(['capture', '--root', root], { token: null, env });
    expect(r.code, r.stderr).toBe(0);
    expect((await waitForJob(name, job.capture_id)).state).toBe('ready');
    const file = await downloaded(name);
    expect(await superblock(file)).toMatch(/Compression lz4/);
    const paths = await listing(file);
    expect(paths).toContain('etc/hostname');
    expect(paths.filter((p) => p.startsWith('usr'))).toEqual([]);

    const again = await run(['capture', '--root', root], { token: null, env });
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/is ready; ask for a new job/);
  });

  it('--compress none stores the tree uncompressed', async () => {
    const { name } = await createImage();
    const r = await run(['capture', name, '--root', await makeTree(), '--compress', 'none']);
    expect(r.code, r.stderr).toBe(0);
    const sb = await superblock(await downloaded(name));
    expect(sb).toMatch(/Inodes are uncompressed/);
    expect(sb).toMatch(/Data is uncompressed/);
  });

  it('says how to install mksquashfs when it is missing, before asking anything of the service', async () => {
    const { name } = await createImage();
    const r = await run(['capture', name, '--root', work], { env: { PATH: join(work, 'no-such-bin') } });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(
      /mksquashfs is not installed; install squashfs-tools: `apt-get install squashfs-tools`.*`dnf install squashfs-tools`/,
    );
    expect((await call<unknown[]>('GET', `/image/${name}/capture`)).body.data).toEqual([]);
  });

  it('refuses a tree larger than the free temporary space before building anything, and the image keeps no content', async () => {
    const { name } = await createImage();
    const root = await makeTree();
    // A sparse file: 4 TiB as the tree counts it, no blocks on the disk.
    await writeFile(join(root, 'usr/bin/tool'), '');
    await truncate(join(root, 'usr/bin/tool'), 4 * 1024 ** 4);
    const tmp = await mkdtemp(join(work, 'tmp-'));
    await handOver(tmp);
    const r = await run(['capture', name, '--root', root, '--tmp-dir', tmp]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/not enough temporary space: the tree under \S+ holds about 4\.0 TiB .* but only .* is free there/);
    expect(r.stderr).toMatch(/--tmp-dir/);
    expect((await call('GET', `/image/${name}/content/info`)).status).toBe(404);
    expect(await readdir(tmp)).toEqual([]);
  });

  it('is in the completion scripts and has help with examples', async () => {
    const bash = await run(['completion', 'bash']);
    expect(bash.stdout).toMatch(/capture\) opts="[^"]*--root[^"]*--exclude[^"]*--compress[^"]*--credential/);
    const help = await run(['help', 'capture']);
    expect(help.stdout).toMatch(/Examples:\n {2}imgctl capture rocky9-compute/);
    expect(help.stdout).toMatch(/IMGCTL_CAPTURE_CREDENTIAL/);
  });

  it('usage: an image or a credential, not both, and not neither; a bad credential', async () => {
    const neither = await run(['capture', '--root', work]);
    expect(neither.code).toBe(2);
    expect(neither.stderr).toMatch(/name the IMAGE to capture into/);
    const both = await run(['capture', 'x', '--credential', `${'a'.repeat(32)}.${'b'.repeat(43)}`, '--root', work]);
    expect(both.code).toBe(2);
    const bad = await run(['capture', '--credential', 'nope', '--root', work], { token: null });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/<capture id>.<secret>/);
  });
});
