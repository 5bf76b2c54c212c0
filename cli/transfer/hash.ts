/** sha1 of files: one sequential pass, or in order behind a parallel download. */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { Worker } from 'node:worker_threads';

const BLOCK = 4 * 1024 * 1024;

export async function sha1File(path: string, onBytes: (n: number) => void = () => undefined): Promise<string> {
  const hash = createHash('sha1');
  for await (const chunk of createReadStream(path, { highWaterMark: BLOCK })) {
    hash.update(chunk as Buffer);
    onBytes((chunk as Buffer).length);
  }
  return hash.digest('hex');
}

/**
 * The hashing thread of PrefixHasher (plain CommonJS: it runs as is, whether
 * imgctl runs from TypeScript or a build). Messages `{ to, finish }` arrive in
 * order; each hashes the file up to `to`, read back from the page cache.
 * Nothing is read after the finish or a failure (the descriptor is closed).
 */
const PREFIX_WORKER = `
const { parentPort, workerData } = require('node:worker_threads');
const { createHash } = require('node:crypto');
const { openSync, readSync, closeSync } = require('node:fs');
const fd = openSync(workerData.path, 'r');
const hash = createHash('sha1');
const buf = Buffer.allocUnsafe(workerData.block);
let hashed = 0;
let done = false;
parentPort.on('message', ({ to, finish }) => {
  if (done) return;
  try {
    while (hashed < to) {
      const n = readSync(fd, buf, 0, Math.min(buf.length, to - hashed), hashed);
      if (n === 0) throw new Error('the file ended at ' + hashed + ' bytes while hashing');
      hash.update(buf.subarray(0, n));
      hashed += n;
    }
    if (finish) {
      done = true;
      closeSync(fd);
      parentPort.postMessage({ digest: hash.digest('hex'), hashed });
    }
  } catch (error) {
    done = true;
    parentPort.postMessage({ error: error.message });
  }
});
`;

interface PrefixWorkerReply {
  digest?: string;
  hashed?: number;
  error?: string;
}

/**
 * Hashes a file from its start as its bytes become final: `advance(n)` says
 * bytes below n are written; a worker thread reads them back (from the page
 * cache, just written) and hashes them while the download goes on, on another
 * core than the one receiving, so the check at the end costs only the tail.
 */
export class PrefixHasher {
  private readonly worker: Worker;
  private readonly replies: Promise<PrefixWorkerReply>;
  private target = 0;

  constructor(path: string) {
    this.worker = new Worker(PREFIX_WORKER, { eval: true, workerData: { path, block: BLOCK } });
    this.replies = new Promise((resolve, reject) => {
      this.worker.once('message', (reply: PrefixWorkerReply) => resolve(reply));
      this.worker.once('error', reject);
      this.worker.once('exit', (code) => reject(new Error(`the hashing thread exited (${code})`)));
    });
    // The first reply settles it; a rejection before anyone awaits must not count as unhandled.
    this.replies.catch(() => undefined);
  }

  advance(to: number): void {
    if (to <= this.target) return;
    this.target = to;
    this.worker.postMessage({ to, finish: false });
  }

  /** Hashes up to `size` and returns the hex digest. */
  async finish(size: number): Promise<string> {
    this.worker.postMessage({ to: size, finish: true });
    try {
      const reply = await this.replies;
      if (reply.error !== undefined) throw new Error(reply.error);
      if (reply.hashed !== size || reply.digest === undefined) throw new Error(`hashed ${reply.hashed ?? 0} of ${size} bytes`);
      return reply.digest;
    } finally {
      await this.close();
    }
  }

  async close(): Promise<void> {
    await this.worker.terminate();
  }
}
