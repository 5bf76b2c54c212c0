/**
 * Real squashfs files for tests, made with mksquashfs (squashfs-tools, which
 * .ci/run installs) from a small directory tree of random files.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface SquashfsOptions {
  /** Bytes of random (incompressible) data in the tree; the file is a little larger. */
  bytes?: number;
  /** mksquashfs -comp; default gzip. */
  comp?: 'gzip' | 'xz' | 'zstd' | 'lz4' | 'lzo';
  /** mksquashfs -b */
  blockSize?: number;
}

/** A squashfs 4.0 file of a tree with a few files and directories. */
export async function makeSquashfs(options: SquashfsOptions = {}): Promise<Buffer> {
  const work = await mkdtemp(join(tmpdir(), 'sqfs-'));
  try {
    const root = join(work, 'root');
    await mkdir(join(root, 'etc'), { recursive: true });
    await mkdir(join(root, 'usr/bin'), { recursive: true });
    await writeFile(join(root, 'etc/hostname'), 'node1\n');
    await writeFile(join(root, 'usr/bin/data'), randomBytes(options.bytes ?? 4096));
    const out = join(work, 'image.sqfs');
    const args = [root, out, '-noappend', '-quiet', '-no-progress', '-comp', options.comp ?? 'gzip'];
    if (options.blockSize !== undefined) args.push('-b', String(options.blockSize));
    await run('mksquashfs', args);
    return await readFile(out);
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}
