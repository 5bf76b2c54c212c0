/** sha1 of files: one sequential pass, or in order behind a parallel download. */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';

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
 * Hashes a file from its start as its bytes become final: `advance(n)` says
 * bytes below n are written; the hasher reads them back (from the page cache,
 * just written) while the download goes on, so the check at the end costs
 * only the tail.
 */
export class PrefixHasher {
  private readonly hash = createHash('sha1');
  private hashedTo = 0;
  private target = 0;
  private running: Promise<void> | undefined;
  private file: Promise<FileHandle>;

  constructor(path: string) {
    this.file = open(path, 'r');
  }

  advance(to: number): void {
    if (to <= this.target) return;
    this.target = to;
    this.running ??= this.run().finally(() => {
      this.running = undefined;
    });
  }

  private async run(): Promise<void> {
    const fh = await this.file;
    const buf = Buffer.allocUnsafe(BLOCK);
    while (this.hashedTo < this.target) {
      const want = Math.min(BLOCK, this.target - this.hashedTo);
      const { bytesRead } = await fh.read(buf, 0, want, this.hashedTo);
      if (bytesRead === 0) throw new Error(`the file ended at ${this.hashedTo} bytes while hashing`);
      this.hash.update(buf.subarray(0, bytesRead));
      this.hashedTo += bytesRead;
    }
  }

  /** Hashes up to `size` and returns the hex digest. */
  async finish(size: number): Promise<string> {
    this.advance(size);
    while (this.running) await this.running;
    await (await this.file).close();
    if (this.hashedTo !== size) throw new Error(`hashed ${this.hashedTo} of ${size} bytes`);
    return this.hash.digest('hex');
  }

  async close(): Promise<void> {
    await (await this.file).close().catch(() => undefined);
  }
}
