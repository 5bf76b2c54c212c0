/**
 * One stack per data directory: DynamoDB Local's SQLite file and the local
 * S3's files are not safe to share between two running stacks.
 */
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { LocalStackError } from './errors.js';

export function lockDataDir(dataDir: string): () => void {
  const file = join(dataDir, 'stack.pid');
  try {
    writeFileSync(file, String(process.pid), { flag: 'wx' });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    const pid = Number(readFileSync(file, 'utf8'));
    if (Number.isInteger(pid) && pid > 0 && pid !== process.pid && alive(pid)) {
      throw new LocalStackError(
        `another local stack (pid ${pid}) is using ${dataDir}: stop it, or give this one its own DATA_DIR`,
      );
    }
    // Left behind by a stack that was killed: take it over.
    writeFileSync(file, String(process.pid));
  }
  return () => rmSync(file, { force: true });
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
