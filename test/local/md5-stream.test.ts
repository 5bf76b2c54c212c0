/**
 * The local S3's md5 of stored bytes (an ETag), computed on a worker thread
 * (local/md5-stream.ts): the same
 * digest as node:crypto for any size and chunking, also with many streams at
 * once, and a failed stream leaves nothing waiting.
 */
import { createHash, randomBytes } from 'node:crypto';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { describe, expect, it } from 'vitest';
import { Md5Stream } from '../../local/md5-stream.js';

const MiB = 1024 * 1024;
const md5 = (b: Uint8Array) => createHash('md5').update(b).digest('hex');

/** `data` cut into chunks of the given sizes (the rest in one last chunk). */
function chunked(data: Buffer, sizes: number[]): Buffer[] {
  const out: Buffer[] = [];
  let at = 0;
  for (const n of sizes) {
    if (at >= data.length) break;
    out.push(data.subarray(at, at + n));
    at += n;
  }
  if (at < data.length) out.push(data.subarray(at));
  return out;
}

/** Pipes the chunks through an Md5Stream into a sink that keeps them; returns both. */
async function hashThrough(chunks: Buffer[]) {
  const hashing = new Md5Stream();
  const received: Buffer[] = [];
  await pipeline(
    Readable.from(chunks),
    hashing,
    new Writable({
      write(chunk: Buffer, _encoding, callback) {
        received.push(chunk);
        callback();
      },
    }),
  );
  return { hashing, passed: Buffer.concat(received) };
}

describe('Md5Stream', () => {
  it('passes every byte through and digests like node:crypto, below, at and past a batch', async () => {
    for (const size of [0, 1, MiB - 1, MiB, MiB + 1, 5 * MiB + 17]) {
      const data = randomBytes(size);
      const { hashing, passed } = await hashThrough(chunked(data, Array(64).fill(64 * 1024)));
      expect(passed.equals(data), `size ${size}`).toBe(true);
      expect(hashing.size, `size ${size}`).toBe(size);
      expect(hashing.md5, `size ${size}`).toBe(md5(data));
    }
  });

  it('digests any chunking of the same bytes alike: one chunk, odd sizes, many tiny ones', async () => {
    const data = randomBytes(3 * MiB + 5);
    const cuts = [[data.length], [1, 7, 100_000, 3 * MiB - 1], Array(4096).fill(333)];
    for (const sizes of cuts) expect((await hashThrough(chunked(data, sizes))).hashing.md5).toBe(md5(data));
  });

  it('keeps 12 streams hashing at once apart', async () => {
    const bodies = Array.from({ length: 12 }, (_, i) => randomBytes(2 * MiB + i * 1000));
    const results = await Promise.all(bodies.map((b) => hashThrough(chunked(b, Array(40).fill(100_000)))));
    expect(results.map((r) => r.hashing.md5)).toEqual(bodies.map(md5));
  });

  it('a source that fails mid-way fails the pipeline, and the next stream still hashes', async () => {
    async function* failing() {
      yield randomBytes(3 * MiB); // past a batch: the worker has started on it
      throw new Error('client went away');
    }
    const hashing = new Md5Stream();
    await expect(pipeline(Readable.from(failing()), hashing, new Writable({ write: (_c, _e, cb) => cb() }))).rejects.toThrow(
      'client went away',
    );
    expect(hashing.md5).toBeUndefined();
    const data = randomBytes(2 * MiB);
    expect((await hashThrough([data])).hashing.md5).toBe(md5(data));
  });
});
