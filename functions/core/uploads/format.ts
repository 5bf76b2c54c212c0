/**
 * The format an upload declares is checked, not trusted: `cwsquash` (also what
 * an upload that declares nothing gets) must be a squashfs 4.0 file, read from
 * its superblock. Any other declared format is stored as declared.
 */
import type { SquashfsFacts } from '../db/schema.js';
import { DEFAULT_FMT } from '../files/model.js';
import { readHead } from '../files/storage.js';
import { checkSquashfs, SQUASHFS_SUPERBLOCK_SIZE } from '../hashing/squashfs.js';

export type FormatCheck = { ok: true; squashfs?: SquashfsFacts } | { ok: false; reason: string };

/** Checks the object `key` of `size` bytes against the format `fmt` its upload declared. */
export async function checkFormat(fmt: string, key: string, size: number): Promise<FormatCheck> {
  if (fmt !== DEFAULT_FMT) return { ok: true };
  const head = size > 0 ? await readHead(key, SQUASHFS_SUPERBLOCK_SIZE) : new Uint8Array();
  const check = checkSquashfs(head, size);
  if (!check.ok) {
    return {
      ok: false,
      reason: `${check.reason}; ${DEFAULT_FMT} content must be a squashfs 4.0 file (declare another fmt, such as raw, to store other bytes); the image keeps its previous content`,
    };
  }
  return { ok: true, squashfs: check.info };
}
