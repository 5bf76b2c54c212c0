/**
 * The data directory's lock: held by a running stack, taken over from a
 * crashed one, whether the crashed stack's pid is gone or now names another
 * process (pid reuse after a machine or container restart).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { LOCK_FILE, holderOf, lockDataDir, parseHolder } from '../../local/data-lock.js';
import { LocalStackError } from '../../local/errors.js';

const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const c of cleanups.splice(0)) c();
});

function dataDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'image-service-lock-'));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** Another process that stays alive for the test: it plays the other stack, or the stranger that got a reused pid. */
async function otherProcess(): Promise<ChildProcess> {
  const child = spawn('sleep', ['60'], { stdio: 'ignore' });
  cleanups.push(() => child.kill('SIGKILL'));
  await new Promise((r) => child.once('spawn', r));
  return child;
}

const lockOf = (dir: string) => parseHolder(readFileSync(join(dir, LOCK_FILE), 'utf8'));

describe('lockDataDir', () => {
  it('refuses a directory whose lock names a running process, with the same start', async () => {
    const dir = dataDir();
    const other = await otherProcess();
    writeFileSync(join(dir, LOCK_FILE), JSON.stringify(holderOf(other.pid!)));
    expect(() => lockDataDir(dir)).toThrow(LocalStackError);
    expect(() => lockDataDir(dir)).toThrow(
      `another local stack (pid ${other.pid}) is using ${dir}: stop it, or give this one its own DATA_DIR`,
    );
    expect(lockOf(dir)?.pid).toBe(other.pid);
  });

  it('takes over a lock whose pid now belongs to a process that started later', async () => {
    const dir = dataDir();
    const other = await otherProcess();
    const stale = { ...holderOf(other.pid!), start: '1' }; // the crashed stack started at tick 1 of this boot
    writeFileSync(join(dir, LOCK_FILE), JSON.stringify(stale));
    const release = lockDataDir(dir);
    expect(lockOf(dir)).toEqual(holderOf(process.pid));
    release();
    expect(existsSync(join(dir, LOCK_FILE))).toBe(false);
  });

  it('takes over a lock from an earlier boot', async () => {
    const dir = dataDir();
    const other = await otherProcess();
    writeFileSync(join(dir, LOCK_FILE), JSON.stringify({ ...holderOf(other.pid!), boot: 'another-boot' }));
    lockDataDir(dir)();
  });

  it('takes over a lock whose process is gone, and one that is not a lock at all', async () => {
    const dir = dataDir();
    const gone = spawn('true');
    await new Promise((r) => gone.once('exit', r));
    writeFileSync(join(dir, LOCK_FILE), JSON.stringify(holderOf(gone.pid!)));
    lockDataDir(dir)();
    writeFileSync(join(dir, LOCK_FILE), 'garbage');
    const release = lockDataDir(dir);
    expect(lockOf(dir)?.pid).toBe(process.pid);
    release();
  });

  it('releases only its own lock, not one taken over since', async () => {
    const dir = dataDir();
    const release = lockDataDir(dir);
    const other = await otherProcess();
    const theirs = JSON.stringify(holderOf(other.pid!));
    writeFileSync(join(dir, LOCK_FILE), theirs);
    release();
    expect(readFileSync(join(dir, LOCK_FILE), 'utf8')).toBe(theirs);
  });

  it('reads the bare pid that earlier versions wrote', () => {
    expect(parseHolder('1234\n')).toEqual({ pid: 1234 });
    expect(parseHolder('{"pid":-1}')).toBeUndefined();
  });
});
