/**
 * Reads a file once, in order, part by part, feeding every byte into one
 * sha1: the upload's checksum comes from the same read that fills the part
 * buffers, so a file is never read twice. Part buffers are reused, so the
 * memory an upload holds is a fixed number of them (see sendParts).
 */
import { createHash, type Hash } from 'node:crypto';
import type { FileHandle } from 'node:fs/promises';
import { Failure } from '../errors.js';

/**
 * Reads are cut into blocks of this size and hashed one by one, so hashing
 * never holds the event loop for long while other parts are being sent.
 */
const BLOCK = 4 * 1024 * 1024;

/** A free list of equal buffers; every buffer taken is given back when its part is done. */
export class PartBuffers {
  private readonly free: Buffer[] = [];
  /** Buffers allocated so far: the upload's memory, reported with --verbose. */
  allocated = 0;

  constructor(readonly bufferSize: number) {}

  take(): Buffer {
    const reused = this.free.pop();
    if (reused) return reused;
    this.allocated++;
    return Buffer.allocUnsafe(this.bufferSize);
  }

  give(buffer: Buffer): void {
    this.free.push(buffer);
  }
}

export class SequentialHasher {
  private readonly hash: Hash = createHash('sha1');
  private position = 0;

  constructor(
    private readonly file: FileHandle,
    private readonly onBytes: (n: number) => void = () => undefined,
  ) {}

  /** Bytes read and hashed so far. */
  get hashed(): number {
    return this.position;
  }

  /** Fills `target` with the next `target.length` bytes of the file and hashes them. */
  async readNext(target: Buffer): Promise<void> {
    let off = 0;
    while (off < target.length) {
      const want = Math.min(BLOCK, target.length - off);
      const { bytesRead } = await this.file.read(target, off, want, this.position);
      if (bytesRead === 0) throw new Failure(`the file ended at ${this.position} bytes while it was being read; it changed`);
      this.hash.update(target.subarray(off, off + bytesRead));
      off += bytesRead;
      this.position += bytesRead;
      this.onBytes(bytesRead);
    }
  }

  /** The hex digest of everything read; only once the whole file is through. */
  digest(size: number): string {
    if (this.position !== size) throw new Error(`hashed ${this.position} of ${size} bytes`);
    return this.hash.digest('hex');
  }
}
