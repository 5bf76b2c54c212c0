/**
 * An image's content: the use cases that need both an image and its file.
 * Download links, stat and info, and releasing the file (content delete,
 * image delete). Releasing drops the refcnt in the same transaction as the
 * image write; the object goes when nothing refers to it.
 */
import { logger } from '../logger.js';
import { conflict, invalid, notFound } from '../errors.js';
import { retryWhileStale } from '../db/optimistic.js';
import { ConditionFailed, writeAll } from '../db/transact.js';
import type { ContentEntry, ImageItem } from '../images/model.js';
import { putImageIfVersion } from '../images/repository.js';
import { checkVersion, deleteImage, frozenError, getImage, lostRace, type WriteOptions } from '../images/service.js';
import { completionOrder } from '../uploads/model.js';
import { collectFile } from '../files/collect.js';
import { contentKey, type FileItem } from '../files/model.js';
import { getFileItem, releaseFile } from '../files/repository.js';
import { presignGet, urlLifetime } from '../files/storage.js';

export interface Content {
  image: ImageItem;
  file: FileItem;
  entry: ContentEntry;
}

export async function contentOf(imageId: string): Promise<Content> {
  const image = await getImage(imageId);
  const fileUid = image.file_uid;
  const file = fileUid === undefined ? undefined : await getFileItem(fileUid);
  if (file?.state !== 'live') throw noContent(image);
  return {
    image,
    file,
    entry: { size: file.size, mtime: file.mtime, chksum: file.chksum, filename: file.uid, uid: file.uid },
  };
}

/**
 * What the image record keeps of its content file (size, mtime, chksum and
 * format, written in the same transaction that made it the image's file):
 * enough for a download link or stat without reading the file's own item,
 * which a boot storm would otherwise read once per node.
 */
export interface RecordedContent {
  image: ImageItem;
  fmt: string;
  entry: ContentEntry;
}

export async function recordedContentOf(imageId: string): Promise<RecordedContent> {
  const image = await getImage(imageId);
  if (image.file_uid === undefined) throw noContent(image);
  for (const [fmt, value] of Object.entries(image.content ?? {})) {
    if (typeof value === 'object' && value.uid === image.file_uid) {
      return { image, fmt, entry: value };
    }
  }
  // A record without the entry (none is written so, but be safe): the file's item has it.
  const { file, entry } = await contentOf(imageId);
  return { image, fmt: file.fmt, entry };
}

const noContent = (image: ImageItem) => notFound(`image "${image.name}" has no content; upload it with PUT /image/${image.uid}/content`);

export interface DownloadLink {
  url: string;
  expires: number;
  size: number;
  chksum: string;
  /**
   * Byte ranges of about equal size for parallel download: send each as a
   * Range header to `url`. The URL is not repeated per part: on AWS it is
   * ~2 KB, and 1,000 copies would pass Lambda's 6 MB response limit.
   */
  parts?: { part_number: number; start: number; end: number; range: string }[];
}

export const MAX_DOWNLOAD_PARTS = 1000;

export async function downloadLink(imageId: string, parts?: number): Promise<DownloadLink> {
  const { image, fmt, entry: file } = await recordedContentOf(imageId);
  const lifetime = await urlLifetime();
  const url = await presignGet(contentKey(file.uid), `${image.name}.${fmt}`, lifetime);
  const link: DownloadLink = {
    url,
    expires: lifetime.expires,
    size: file.size,
    chksum: file.chksum,
  };
  if (parts !== undefined) {
    if (parts > MAX_DOWNLOAD_PARTS) throw invalid(`parts must be at most ${MAX_DOWNLOAD_PARTS}`);
    // Exactly n ranges (one per byte at most), sizes differing by at most one byte. A fixed
    // step of ceil(size / n) gave fewer ranges than asked (e.g. 599 for 600 over 100,000 bytes).
    // Quotient and remainder keep the arithmetic exact for sizes up to 5 TiB.
    const n = Math.max(1, Math.min(parts, file.size));
    const q = Math.floor(file.size / n);
    const r = file.size % n;
    link.parts = [];
    for (let i = 0; i < n; i++) {
      const start = i * q + Math.min(i, r);
      const end = start + q + (i < r ? 1 : 0) - 1;
      link.parts.push({ part_number: i + 1, start, end, range: `bytes=${start}-${end}` });
    }
  }
  return link;
}

/** Removes the image's content and releases its file. */
export async function deleteContent(imageId: string, options: WriteOptions = {}): Promise<ImageItem> {
  return retryWhileStale(
    async () => {
      const image = await getImage(imageId);
      checkVersion(image, options);
      if (image.frozen) throw frozenError(image);
      if (image.file_uid === undefined) throw notFound(`image "${image.name}" has no content to delete`);
      const next: ImageItem = { ...image, version: image.version + 1 };
      delete next.file_uid;
      delete next.content;
      // A removal is ordered like an upload: an older upload still hashing must not bring content back.
      next.content_order = completionOrder(Date.now(), 'removed');
      try {
        await writeAll([putImageIfVersion(next, image.version), releaseFile(image.file_uid)]);
      } catch (error) {
        throw error instanceof ConditionFailed ? lostRace(image, options) : error;
      }
      await collectOrLeave(image.file_uid);
      return next;
    },
    () => conflict(`image "${imageId}" is being changed by other requests; retry`),
  );
}

/** Deletes the image record and releases its content file. */
export async function deleteImageWithContent(imageId: string, options: WriteOptions): Promise<ImageItem> {
  const { item, releasedFile } = await deleteImage(imageId, { ...options, releaseFile });
  if (releasedFile !== undefined) await collectOrLeave(releasedFile);
  return item;
}

/**
 * The release is committed: the caller's request succeeded. If removing the
 * unreferenced file fails now, the sweeper finishes it (core/files/sweep.ts).
 */
async function collectOrLeave(fileUid: string): Promise<void> {
  try {
    await collectFile(fileUid);
  } catch (error) {
    logger.error('collecting a released file failed; the sweeper will retry', { fileUid, error });
  }
}
