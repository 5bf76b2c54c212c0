import { describe, expect, it } from 'vitest';
import { checkSquashfs, SQUASHFS_SUPERBLOCK_SIZE } from '../../functions/core/hashing/squashfs.js';
import { makeSquashfs } from '../squashfs.js';

/** A hand-made superblock: the fields the parser reads, the rest zero. */
function superblock(
  fields: {
    magic?: number;
    inodes?: number;
    blockSize?: number;
    blockLog?: number;
    comp?: number;
    major?: number;
    minor?: number;
    bytesUsed?: bigint;
  } = {},
): Uint8Array {
  const buf = new Uint8Array(SQUASHFS_SUPERBLOCK_SIZE);
  const v = new DataView(buf.buffer);
  v.setUint32(0, fields.magic ?? 0x73717368, true);
  v.setUint32(4, fields.inodes ?? 7, true);
  v.setUint32(8, 1_700_000_000, true);
  v.setUint32(12, fields.blockSize ?? 131072, true);
  v.setUint16(20, fields.comp ?? 4, true);
  v.setUint16(22, fields.blockLog ?? 17, true);
  v.setUint16(28, fields.major ?? 4, true);
  v.setUint16(30, fields.minor ?? 0, true);
  v.setBigUint64(40, fields.bytesUsed ?? 4096n, true);
  return buf;
}

describe('checkSquashfs', () => {
  it('reads the facts of a valid superblock', () => {
    expect(checkSquashfs(superblock(), 8192)).toEqual({
      ok: true,
      info: { compression: 'xz', block_size: 131072, inodes: 7, bytes_used: 4096, mkfs_time: 1_700_000_000 },
    });
  });

  it('reads a superblock that is not at the start of its buffer', () => {
    const padded = new Uint8Array(SQUASHFS_SUPERBLOCK_SIZE + 3);
    padded.set(superblock(), 3);
    expect(checkSquashfs(padded.subarray(3), 4096)).toMatchObject({ ok: true, info: { bytes_used: 4096 } });
  });

  it.each([
    ['gzip', 1],
    ['lzma', 2],
    ['lzo', 3],
    ['xz', 4],
    ['lz4', 5],
    ['zstd', 6],
  ])('names compression %s (id %i)', (name, id) => {
    expect(checkSquashfs(superblock({ comp: id }), 4096)).toMatchObject({ ok: true, info: { compression: name } });
  });

  it.each([
    ['a wrong magic', superblock({ magic: 0x12345678 }), 8192, /not a squashfs file: the first 4 bytes are 0x78563412/],
    ['big-endian magic (squashfs 3 on big-endian hosts)', superblock({ magic: 0x68737173 }), 8192, /not the squashfs magic/],
    ['version 3.1', superblock({ major: 3, minor: 1 }), 8192, /squashfs version 3\.1 is not supported/],
    ['version 4.1', superblock({ minor: 1 }), 8192, /squashfs version 4\.1/],
    ['an unknown compression id', superblock({ comp: 9 }), 8192, /unknown compression id 9/],
    ['a block size that is not 2^block_log', superblock({ blockSize: 131072, blockLog: 16 }), 8192, /block size 131072 with block log 16/],
    ['a block size beyond 1 MiB', superblock({ blockSize: 2 ** 21, blockLog: 21 }), 8192, /inconsistent/],
    ['bytes_used beyond the file', superblock({ bytesUsed: 8193n }), 8192, /uses 8193 bytes but the file has 8192: the file is truncated/],
    ['bytes_used smaller than a superblock', superblock({ bytesUsed: 10n }), 8192, /uses 10 bytes/],
  ])('rejects %s', (_what, head, size, reason) => {
    const check = checkSquashfs(head, size);
    expect(check.ok).toBe(false);
    expect(!check.ok && check.reason).toMatch(reason);
  });

  it('rejects a file smaller than a superblock', () => {
    expect(checkSquashfs(new Uint8Array(10), 10)).toEqual({
      ok: false,
      reason: 'not a squashfs file: 10 bytes is smaller than a squashfs superblock (96)',
    });
    expect(checkSquashfs(new Uint8Array(0), 0)).toMatchObject({ ok: false });
  });

  it('accepts what mksquashfs makes and reads its facts', async () => {
    const file = await makeSquashfs({ comp: 'zstd', blockSize: 65536 });
    const check = checkSquashfs(file.subarray(0, SQUASHFS_SUPERBLOCK_SIZE), file.length);
    expect(check).toMatchObject({ ok: true, info: { compression: 'zstd', block_size: 65536 } });
    // Root, etc, usr, usr/bin, and the two files.
    expect(check.ok && check.info.inodes).toBe(6);
    // mksquashfs pads the file to 4 KiB; bytes_used is the file system's own length.
    expect(check.ok && check.info.bytes_used).toBeLessThanOrEqual(file.length);
    expect(check.ok && file.length - check.info.bytes_used).toBeLessThan(4096);
  });
});
