/** The download's in-order sha1 on its own thread: advances in any steps, the tail at finish, short files refused. */
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PrefixHasher, sha1File } from '../../cli/transfer/hash.js';

const MIB = 1024 * 1024;
let dir: string;
let file: string;
const data = randomBytes(9 * MIB + 4321);
const expected = createHash('sha1').update(data).digest('hex');

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'prefix-hasher-'));
  file = join(dir, 'image.bin');
  await writeFile(file, data);
});

afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('PrefixHasher', () => {
  it('hashes the prefixes it is told are final, then the tail, to the sha1 of the file', async () => {
    const hasher = new PrefixHasher(file);
    for (const to of [1, 3 * MIB, 3 * MIB, 2 * MIB, 7 * MIB + 5]) hasher.advance(to); // repeats and going back are ignored
    expect(await hasher.finish(data.length)).toBe(expected);
  });

  it('agrees with the sequential sha1 pass', async () => {
    expect(await sha1File(file)).toBe(expected);
    expect(await new PrefixHasher(file).finish(data.length)).toBe(expected);
  });

  it('refuses a file shorter than the size it is to hash', async () => {
    const hasher = new PrefixHasher(file);
    hasher.advance(MIB);
    await expect(hasher.finish(data.length + 10)).rejects.toThrow(`the file ended at ${data.length} bytes while hashing`);
  });

  it('refuses a file that cannot be opened', async () => {
    await expect(new PrefixHasher(join(dir, 'missing.bin')).finish(1)).rejects.toThrow(/ENOENT/);
  });

  it('can be closed without finishing (a failed download)', async () => {
    const hasher = new PrefixHasher(file);
    hasher.advance(2 * MIB);
    await expect(hasher.close()).resolves.toBeUndefined();
  });
});
