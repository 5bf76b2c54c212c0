/**
 * One stack per data directory: DynamoDB Local's SQLite file and the local
 * S3's files are not safe to share between two running stacks.
 *
 * The lock is a file naming the holder by its pid and, where /proc exists
 * (Linux), by the kernel's start time of that process and the boot it belongs
 * to. A lock left by a stack that was killed is taken over: its pid is gone,
 * or now belongs to a process that started later (pid reuse, as after a
 * machine or container restart), so it cannot block a start. Without /proc
 * only the pid is checked.
 *
 * A lock the kernel itself drops (flock) needs a native addon in Node, and
 * mtime-refreshed locks (proper-lockfile) make a start after a crash wait for
 * the lock to go stale and take the lock from a stack that was merely paused.
 */
import { linkSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { LocalStackError } from './errors.js';

interface Holder {
  pid: number;
  /** Field 22 of /proc/<pid>/stat: clock ticks from boot to the process's start. */
  start?: string;
  /** /proc/sys/kernel/random/boot_id: start times count from this boot. */
  boot?: string;
}

export const LOCK_FILE = 'stack.pid';

/** Takes the data directory's lock; returns its release. Throws LocalStackError when a running stack holds it. */
export function lockDataDir(dataDir: string): () => void {
  const file = join(dataDir, LOCK_FILE);
  const mine = JSON.stringify(holderOf(process.pid));
  for (let attempt = 0; attempt < 5; attempt++) {
    try {
      writeFileSync(file, mine, { flag: 'wx' });
      return () => {
        // Only our own lock: never the one of a stack that took over a lock it judged stale.
        if (readIfThere(file) === mine) rmSync(file, { force: true });
      };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
    const text = readIfThere(file);
    if (text === undefined) continue;
    const holder = parseHolder(text);
    if (holder && holder.pid !== process.pid && holds(holder)) {
      throw new LocalStackError(`another local stack (pid ${holder.pid}) is using ${dataDir}: stop it, or give this one its own DATA_DIR`);
    }
    // Stale. Move aside exactly the file judged stale: another start may have replaced it meanwhile.
    const aside = `${file}.${process.pid}.stale`;
    try {
      renameSync(file, aside);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') continue;
      throw error;
    }
    if (readIfThere(aside) !== text) {
      try {
        linkSync(aside, file); // put a fresh lock back, unless yet another start holds the name
      } catch {
        // the name is taken: its holder decides
      }
    }
    rmSync(aside, { force: true });
  }
  throw new LocalStackError(`cannot take the lock ${file}: other stacks keep starting on ${dataDir}`);
}

function readIfThere(file: string): string | undefined {
  try {
    return readFileSync(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}

/** A lock's holder; a bare pid is what earlier versions wrote. Undefined for a file that is not a lock. */
export function parseHolder(text: string): Holder | undefined {
  if (/^\s*\d+\s*$/.test(text)) return { pid: Number(text) };
  try {
    const value: unknown = JSON.parse(text);
    if (typeof value !== 'object' || value === null) return undefined;
    const { pid, start, boot } = value as Record<string, unknown>;
    if (typeof pid !== 'number' || !Number.isInteger(pid) || pid <= 0) return undefined;
    return {
      pid,
      ...(typeof start === 'string' ? { start } : {}),
      ...(typeof boot === 'string' ? { boot } : {}),
    };
  } catch {
    return undefined;
  }
}

/** The identity of a running process, as far as this system tells it. */
export function holderOf(pid: number): Holder {
  const start = startTicks(pid);
  const boot = readProc('/proc/sys/kernel/random/boot_id')?.trim();
  return { pid, ...(start !== undefined ? { start } : {}), ...(boot ? { boot } : {}) };
}

/** Is the process that wrote this lock still running? */
function holds(holder: Holder): boolean {
  if (!alive(holder.pid)) return false;
  const now = holderOf(holder.pid);
  if (holder.start === undefined || now.start === undefined) {
    // A bare pid (an earlier version's lock) or no /proc: the pid is all there is to go on.
    return true;
  }
  return holder.start === now.start && holder.boot === now.boot;
}

function startTicks(pid: number): string | undefined {
  const stat = readProc(`/proc/${pid}/stat`);
  if (stat === undefined) return undefined;
  // "pid (comm) state ppid ...": comm may hold spaces and parentheses, so count fields after the last ')'.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return fields[19]; // field 22 of the whole line
}

function readProc(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
