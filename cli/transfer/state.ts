/**
 * Resumable-transfer state on disk.
 * - Uploads: `<state dir>/uploads/<image uid>.json` names the open session and
 *   the file it is for (absolute path, size, mtime), so `imgctl upload ID
 *   FILE` again resumes it instead of starting over; once the file has been
 *   read through, also its sha1 (records of older imgctl versions always
 *   have it), so a run that dies after completing can still check the result.
 * - Downloads: a `<FILE>.part` sidecar next to the target lists the byte
 *   ranges already written and the checksum they belong to.
 * - Upload locks: `<state dir>/uploads/<image uid>.lock`, one run per image.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync, rmSync } from 'node:fs';
import { link, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { dirname, join } from 'node:path';
import { Failure } from '../errors.js';
import { stateDir, writeJsonPrivate } from '../config.js';

export interface FileIdentity {
  path: string;
  size: number;
  mtimeMs: number;
}

export interface UploadRecord extends FileIdentity {
  version: 1;
  image: string;
  upload_id: string;
  /** Known once the whole file has been read (hashed while its parts were sent). */
  sha1?: string;
  part_size: number;
  started_at: string;
}

export interface DownloadRecord {
  version: 1;
  image: string;
  chksum: string;
  size: number;
  /** Written ranges, inclusive [start, end], sorted and merged. */
  done: [number, number][];
}

export const uploadStateFile = (imageUid: string): string => join(stateDir(), 'uploads', `${imageUid}.json`);
const uploadLockFile = (imageUid: string): string => join(stateDir(), 'uploads', `${imageUid}.lock`);

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: it exists, as another user's process.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
};

interface LockHolder {
  pid: number;
  host: string;
}

/** The lock's holder; undefined for an unreadable or foreign lock. */
async function holderOf(file: string): Promise<LockHolder | undefined> {
  const v = await readJson(file);
  return isObject(v) && Number.isSafeInteger(v['pid']) && typeof v['host'] === 'string'
    ? { pid: v['pid'] as number, host: v['host'] }
    : undefined;
}

/**
 * Takes the upload lock of an image: `{pid, host}` written to a temporary file
 * and linked into place, which fails if a lock is there (never an empty or
 * half-written lock). A lock of a process on this host that is gone (killed)
 * is taken over; one that is alive, on another host (a shared home) or
 * unreadable refuses, naming the file to remove if no imgctl runs.
 */
export async function lockUpload(imageUid: string): Promise<{ release(): Promise<void> }> {
  const file = uploadLockFile(imageUid);
  await mkdir(dirname(file), { recursive: true, mode: 0o700 });
  const me: LockHolder = { pid: process.pid, host: hostname() };
  const temp = `${file}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  await writeFile(temp, JSON.stringify(me), { mode: 0o600 });
  try {
    for (let attempt = 0; ; attempt++) {
      try {
        await link(temp, file);
        break;
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      }
      const holder = await holderOf(file);
      const stale = holder !== undefined && holder.host === me.host && holder.pid !== me.pid && !alive(holder.pid);
      if (!stale || attempt > 0) {
        const who = holder ? `another imgctl (pid ${holder.pid} on ${holder.host})` : 'another imgctl';
        throw new Failure(`${who} is uploading to this image; wait for it or stop it, or if none runs, remove ${file}`);
      }
      await rm(file, { force: true });
    }
  } finally {
    await rm(temp, { force: true });
  }
  // Only our own lock is removed: after a takeover race it may be another run's.
  const releaseSync = () => {
    try {
      if (readFileSync(file, 'utf8') === JSON.stringify(me)) rmSync(file, { force: true });
    } catch {
      // Gone already.
    }
  };
  // Ctrl-C ends imgctl with process.exit, past any finally: the lock goes with it here.
  process.once('exit', releaseSync);
  return {
    release: async () => {
      process.removeListener('exit', releaseSync);
      releaseSync();
    },
  };
}

export const sidecarOf = (target: string): string => `${target}.part`;

/** A JSON file's value; undefined when it is missing, torn or not JSON (treated as absent). */
async function readJson(file: string): Promise<unknown> {
  try {
    return JSON.parse(await readFile(file, 'utf8')) as unknown;
  } catch {
    return undefined;
  }
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

export async function loadUploadRecord(imageUid: string): Promise<UploadRecord | undefined> {
  const v = await readJson(uploadStateFile(imageUid));
  if (!isObject(v) || v['version'] !== 1 || typeof v['upload_id'] !== 'string') return undefined;
  if (v['sha1'] !== undefined && typeof v['sha1'] !== 'string') return undefined;
  if (typeof v['path'] !== 'string' || typeof v['size'] !== 'number' || typeof v['mtimeMs'] !== 'number') return undefined;
  return v as unknown as UploadRecord;
}

export const saveUploadRecord = (record: UploadRecord): Promise<void> => writeJsonPrivate(uploadStateFile(record.image), record);
export const removeUploadRecord = (imageUid: string): Promise<void> => rm(uploadStateFile(imageUid), { force: true });

export const sameFile = (a: FileIdentity, b: FileIdentity): boolean => a.path === b.path && a.size === b.size && a.mtimeMs === b.mtimeMs;

export async function loadDownloadRecord(target: string): Promise<DownloadRecord | undefined> {
  const v = await readJson(sidecarOf(target));
  if (!isObject(v) || v['version'] !== 1 || typeof v['chksum'] !== 'string' || typeof v['size'] !== 'number') return undefined;
  const done = v['done'];
  if (!Array.isArray(done) || !done.every((r) => Array.isArray(r) && r.length === 2 && r.every((n) => Number.isInteger(n)))) {
    return undefined;
  }
  return v as unknown as DownloadRecord;
}

export const saveDownloadRecord = (target: string, record: DownloadRecord): Promise<void> => writeJsonPrivate(sidecarOf(target), record);
export const removeDownloadRecord = (target: string): Promise<void> => rm(sidecarOf(target), { force: true });

/* Ranges */

/** Adds [start, end] to sorted, merged ranges. */
export function addRange(ranges: [number, number][], start: number, end: number): [number, number][] {
  const all = [...ranges, [start, end] as [number, number]].sort((a, b) => a[0] - b[0]);
  const merged: [number, number][] = [];
  for (const [s, e] of all) {
    const last = merged.at(-1);
    if (last && s <= last[1] + 1) last[1] = Math.max(last[1], e);
    else merged.push([s, e]);
  }
  return merged;
}

/** The ranges of [0, size) not covered, cut into pieces of at most `chunk` bytes. */
export function missingChunks(done: [number, number][], size: number, chunk: number): [number, number][] {
  const out: [number, number][] = [];
  let pos = 0;
  const gaps: [number, number][] = [];
  for (const [s, e] of done) {
    if (s > pos) gaps.push([pos, Math.min(s, size) - 1]);
    pos = Math.max(pos, e + 1);
  }
  if (pos < size) gaps.push([pos, size - 1]);
  for (const [s, e] of gaps) for (let p = s; p <= e; p += chunk) out.push([p, Math.min(e, p + chunk - 1)]);
  return out;
}

/** Bytes covered by the ranges. */
export const coveredBytes = (done: [number, number][]): number => done.reduce((n, [s, e]) => n + e - s + 1, 0);

/** First byte not covered from 0. */
export const prefixEnd = (done: [number, number][]): number => (done[0] && done[0][0] === 0 ? done[0][1] + 1 : 0);
