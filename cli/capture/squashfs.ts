/**
 * Building the squashfs of a node's root with mksquashfs (squashfs-tools):
 * one file system only, the default excludes plus the job's and the user's
 * (mksquashfs `-wildcards` patterns relative to the root, read from an
 * exclude file so a pattern is never taken for an option), after checking
 * that the temporary directory has room for it.
 */
import { spawn } from 'node:child_process';
import { lstat, readdir, statfs, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Compressor } from '../../functions/core/capture/model.js';
import { Failure, UsageError } from '../errors.js';
import { bytes } from '../format.js';

export const COMPRESSORS = ['gzip', 'xz', 'zstd', 'lz4', 'lzo', 'none'] as const satisfies readonly Compressor[];
export const DEFAULT_COMPRESSOR: Compressor = 'gzip';

/**
 * What a node's root holds that is no part of its image: the contents of the
 * kernel's and the run time's file systems and of scratch and mount-point
 * directories (the directories themselves stay, as mount points), the
 * lost+found of the root file system, and swap files.
 */
export const DEFAULT_EXCLUDES = [
  'proc/*',
  'sys/*',
  'dev/*',
  'run/*',
  'tmp/*',
  'var/tmp/*',
  'var/run/*',
  'var/lock/*',
  'mnt/*',
  'media/*',
  'lost+found',
  'swapfile',
  'swap.img',
  '*.swap',
] as const;

const INSTALL_HINT =
  'install squashfs-tools: `apt-get install squashfs-tools` (Debian, Ubuntu) or `dnf install squashfs-tools` (RHEL, Rocky, Fedora)';

/** The mksquashfs version line; a clear error when it is not installed. */
export async function mksquashfsVersion(): Promise<string> {
  const { code, stdout, error } = await run('mksquashfs', ['-version']);
  if (error?.code === 'ENOENT') throw new Failure(`mksquashfs is not installed; ${INSTALL_HINT}`);
  if (error) throw new Failure(`cannot run mksquashfs (${error.message}); ${INSTALL_HINT}`);
  const line = stdout.split('\n')[0]?.trim() ?? '';
  if (code !== 0 && line === '') throw new Failure(`mksquashfs -version failed (exit ${code}); ${INSTALL_HINT}`);
  return line;
}

/** A user's pattern, relative to the root as mksquashfs takes it: a leading "/" is dropped. */
export function relativePattern(pattern: string): string {
  const p = pattern.replace(/^\/+/, '');
  if (p === '' || p.includes('\n')) throw new UsageError(`--exclude ${JSON.stringify(pattern)} names nothing under the root`);
  return p;
}

/**
 * Bytes the tree under `root` holds on its own file system, skipping the
 * default excludes' directories: what the squashfs may take at most
 * (uncompressed), and so what the temporary directory must have free.
 */
async function treeBytes(root: string): Promise<{ bytes: number; files: number }> {
  const top = await lstat(root);
  const skip = new Set(DEFAULT_EXCLUDES.filter((p) => p.endsWith('/*')).map((p) => join(root, p.slice(0, -2))));
  let total = 0;
  let files = 0;
  const walk = async (dir: string): Promise<void> => {
    let entries: string[];
    try {
      entries = await readdir(dir);
    } catch {
      return; // Unreadable: mksquashfs will say so.
    }
    for (const name of entries) {
      const path = join(dir, name);
      const s = await lstat(path).catch(() => undefined);
      if (!s || s.dev !== top.dev) continue;
      files++;
      if (s.isDirectory()) {
        if (!skip.has(path)) await walk(path);
      } else if (s.isFile()) total += s.size;
    }
  };
  await walk(root);
  return { bytes: total, files };
}

/** Free bytes for an unprivileged user in the file system holding `dir`. */
async function freeBytes(dir: string): Promise<number> {
  const s = await statfs(dir);
  return s.bavail * s.bsize;
}

/** Metadata and a margin on top of the tree: squashfs with no compression is a little larger than its files. */
const neededBytes = (tree: number): number => Math.ceil(tree * 1.05) + 16 * 1024 * 1024;

export async function checkSpace(root: string, tmp: string): Promise<{ tree: number; files: number; free: number }> {
  const { bytes: tree, files } = await treeBytes(root);
  const free = await freeBytes(tmp);
  if (free < neededBytes(tree)) {
    throw new Failure(
      `not enough temporary space: the tree under ${root} holds about ${bytes(tree)} (${files} entries), and the squashfs ` +
        `may take up to ${bytes(neededBytes(tree))} in ${tmp} before compression pays off, but only ${bytes(free)} is free there. ` +
        'Point --tmp-dir (or TMPDIR) at a larger file system, or exclude more with --exclude.',
    );
  }
  return { tree, files, free };
}

export interface BuildOptions {
  root: string;
  out: string;
  excludes: readonly string[];
  compress: Compressor;
  /** Where the exclude file goes. */
  workDir: string;
  /** Show mksquashfs's own progress bar on stderr. */
  progress: boolean;
}

/** The mksquashfs arguments for a capture. */
async function mksquashfsArgs(o: BuildOptions): Promise<string[]> {
  const excludeFile = join(o.workDir, 'exclude');
  await writeFile(excludeFile, `${o.excludes.join('\n')}\n`);
  const comp = o.compress === 'none' ? ['-noI', '-noD', '-noF', '-noX'] : ['-comp', o.compress];
  return [
    o.root,
    o.out,
    '-noappend',
    '-one-file-system',
    ...comp,
    ...(o.progress ? [] : ['-no-progress', '-quiet']),
    '-wildcards',
    '-ef',
    excludeFile,
  ];
}

export async function buildSquashfs(o: BuildOptions): Promise<void> {
  const args = await mksquashfsArgs(o);
  // mksquashfs's progress goes to its stdout: ours is for the command's result, so it goes to stderr.
  const { code, stderr, error } = await run('mksquashfs', args, o.progress ? 'stderr' : 'capture');
  if (error?.code === 'ENOENT') throw new Failure(`mksquashfs is not installed; ${INSTALL_HINT}`);
  if (error) throw new Failure(`cannot run mksquashfs: ${error.message}`);
  if (code !== 0) {
    const tail = stderr.trim().split('\n').slice(-5).join('\n');
    throw new Failure(`mksquashfs failed (exit ${code}) on ${o.root}:\n${tail}`);
  }
}

interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
  error?: NodeJS.ErrnoException;
}

function run(cmd: string, args: string[], stdout: 'capture' | 'stderr' = 'capture'): Promise<RunResult> {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { stdio: ['ignore', stdout === 'stderr' ? 2 : 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout?.on('data', (c: Buffer) => {
      out += c.toString();
    });
    child.stderr?.on('data', (c: Buffer) => {
      err += c.toString();
      if (err.length > 64 * 1024) err = err.slice(-32 * 1024);
    });
    child.on('error', (error: NodeJS.ErrnoException) => resolve({ code: null, stdout: out, stderr: err, error }));
    child.on('close', (code) => resolve({ code, stdout: out, stderr: err }));
  });
}
