/**
 * The resumable SHA-1 (functions/core/hashing/sha1.ts) on its thread: the
 * same digest as node:crypto whatever the chunking, a saved state that goes
 * on in another hash, and failures that are said rather than hung on.
 */
import { createHash, randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { resumableSha1, Sha1Error } from '../../functions/core/hashing/index.js';

const MiB = 1024 * 1024;
const native = (data: Uint8Array) => createHash('sha1').update(data).digest('hex');

/** Feeds `data` in chunks of the given sizes, round and round. */
function feed(hash: { update(chunk: Uint8Array): void }, data: Uint8Array, sizes: number[]): void {
  for (let at = 0, i = 0; at < data.byteLength; i++) {
    const n = Math.min(sizes[i % sizes.length] ?? 1, data.byteLength - at);
    hash.update(data.subarray(at, at + n));
    at += n;
  }
}

describe('resumableSha1', () => {
  it('digests as node:crypto does, whatever the chunking, past the backlog bound', async () => {
    // 40 MiB in uneven chunks, more than the 16 MiB the thread may have in hand at once.
    const data = randomBytes(40 * MiB + 12_345);
    const hash = await resumableSha1();
    feed(hash, data, [1, 65_536, 3 * MiB + 7, 100_003]);
    expect(hash.digest()).toBe(native(data));
  });

  it('digests nothing as the empty string', async () => {
    const hash = await resumableSha1();
    expect(hash.digest()).toBe('da39a3ee5e6b4b0d3255bfef95601890afd80709');
  });

  it('saves a state mid-way that another hash continues from, and goes on itself after saving', async () => {
    const data = randomBytes(5 * MiB + 333);
    const cut = 2 * MiB + 17;
    const first = await resumableSha1();
    feed(first, data.subarray(0, cut), [70_000]);
    const state = first.save();
    expect(state).toBeInstanceOf(Uint8Array);
    expect(state?.byteLength).toBeGreaterThan(0);

    const second = await resumableSha1(state);
    feed(second, data.subarray(cut), [1_000_000]);
    expect(second.digest()).toBe(native(data));

    feed(first, data.subarray(cut), [MiB]);
    expect(first.digest()).toBe(native(data));
  });

  it('takes over a chunk that owns its memory without copying it, and copies a view of a larger buffer', async () => {
    const whole = new Uint8Array(randomBytes(100_000));
    const expected = native(Buffer.concat([whole, whole]));
    const bigger = new Uint8Array(300_000);
    bigger.set(whole, 1_000);
    const view = bigger.subarray(1_000, 101_000);
    const viewBytes = Buffer.from(view);
    const hash = await resumableSha1();
    hash.update(view);
    hash.update(whole);
    // Moved to the hashing thread: the caller's array is empty now (as update() says it may be).
    expect(whole.byteLength).toBe(0);
    // Copied: the larger buffer is the caller's still, and unchanged.
    expect(bigger.byteLength).toBe(300_000);
    expect(Buffer.from(view).equals(viewBytes)).toBe(true);
    expect(hash.digest()).toBe(expected);
  });

  it('refuses a state that is not a SHA-1 state, at creation', async () => {
    await expect(resumableSha1(new Uint8Array([1, 2, 3]))).rejects.toThrow(/SHA-1 thread could not start/);
  });

  it('is unusable once closed, and closing twice is harmless', async () => {
    const hash = await resumableSha1();
    hash.update(new Uint8Array(10));
    hash.close();
    hash.close();
    expect(() => hash.update(new Uint8Array(10))).toThrow(/closed/);
    expect(() => hash.save()).toThrow(Sha1Error);
  });
});
