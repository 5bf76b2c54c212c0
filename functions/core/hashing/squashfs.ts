/**
 * The squashfs 4.0 superblock: the first 96 bytes of a squashfs file, all
 * little-endian. `cwsquash` content is a squashfs 4.0 file; the hasher checks
 * this superblock instead of trusting the format an upload declares. Layout
 * (offset: field): 0 magic u32, 4 inode count u32, 8 mtime u32, 12 block size
 * u32, 16 fragment count u32, 20 compression id u16, 22 block log u16, 24 flags
 * u16, 26 id count u16, 28 major u16, 30 minor u16, 32 root inode u64,
 * 40 bytes used u64, then seven table offsets u64 up to byte 96.
 * No imports: the parser is pure.
 */

export const SQUASHFS_SUPERBLOCK_SIZE = 96;
/** `hsqs` on disk: 0x73717368 read little-endian. */
export const SQUASHFS_MAGIC = 0x73717368;

const COMPRESSORS: Record<number, SquashfsCompression> = {
  1: 'gzip',
  2: 'lzma',
  3: 'lzo',
  4: 'xz',
  5: 'lz4',
  6: 'zstd',
};

export type SquashfsCompression = 'gzip' | 'lzma' | 'lzo' | 'xz' | 'lz4' | 'zstd';

/** The facts of a valid superblock that the service records with the file. */
export interface SquashfsInfo {
  compression: SquashfsCompression;
  block_size: number;
  inodes: number;
  bytes_used: number;
  /** When mksquashfs made the file system, epoch seconds. */
  mkfs_time: number;
}

export type SquashfsCheck = { ok: true; info: SquashfsInfo } | { ok: false; reason: string };

const MIN_BLOCK_LOG = 12; // 4 KiB
const MAX_BLOCK_LOG = 20; // 1 MiB

/**
 * Checks that `head` (the file's first bytes) is a squashfs 4.0 superblock
 * that fits a file of `fileSize` bytes. The reason of a failure says what is
 * wrong in words an uploader can act on.
 */
export function checkSquashfs(head: Uint8Array, fileSize: number): SquashfsCheck {
  if (fileSize < SQUASHFS_SUPERBLOCK_SIZE || head.length < SQUASHFS_SUPERBLOCK_SIZE) {
    const n = Math.min(fileSize, head.length);
    return { ok: false, reason: `not a squashfs file: ${n} bytes is smaller than a squashfs superblock (${SQUASHFS_SUPERBLOCK_SIZE})` };
  }
  const view = new DataView(head.buffer, head.byteOffset, SQUASHFS_SUPERBLOCK_SIZE);
  const magic = view.getUint32(0, true);
  if (magic !== SQUASHFS_MAGIC) {
    return { ok: false, reason: `not a squashfs file: the first 4 bytes are 0x${hex(head.subarray(0, 4))}, not the squashfs magic "hsqs"` };
  }
  const major = view.getUint16(28, true);
  const minor = view.getUint16(30, true);
  if (major !== 4 || minor !== 0) {
    return { ok: false, reason: `squashfs version ${major}.${minor} is not supported; cwsquash is squashfs 4.0 (mksquashfs 4.x)` };
  }
  const compressionId = view.getUint16(20, true);
  const compression = COMPRESSORS[compressionId];
  if (compression === undefined) {
    return { ok: false, reason: `squashfs superblock names unknown compression id ${compressionId}` };
  }
  const blockSize = view.getUint32(12, true);
  const blockLog = view.getUint16(22, true);
  if (blockLog < MIN_BLOCK_LOG || blockLog > MAX_BLOCK_LOG || blockSize !== 2 ** blockLog) {
    return { ok: false, reason: `squashfs superblock is inconsistent: block size ${blockSize} with block log ${blockLog}` };
  }
  const bytesUsed = view.getBigUint64(40, true);
  if (bytesUsed < BigInt(SQUASHFS_SUPERBLOCK_SIZE) || bytesUsed > BigInt(fileSize)) {
    return {
      ok: false,
      reason: `squashfs superblock says the file system uses ${bytesUsed} bytes but the file has ${fileSize}: the file is truncated or not squashfs`,
    };
  }
  return {
    ok: true,
    info: {
      compression,
      block_size: blockSize,
      inodes: view.getUint32(4, true),
      bytes_used: Number(bytesUsed),
      mkfs_time: view.getUint32(8, true),
    },
  };
}

const hex = (bytes: Uint8Array): string => Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
