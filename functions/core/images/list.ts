/**
 * GET /images: filters, paging and the page-size cap. The cursor is the index
 * key of the last record served, opaque to clients (cursor.ts).
 */
import { asUid } from '../ids.js';
import { LAMBDA_MAX_RESPONSE_BYTES, payloadBytesOf } from '../payload.js';
import { decodeCursor, encodeCursor } from './cursor.js';
import { toRecord, type ImageItem, type ImageRecord } from './model.js';
import { indexKeyOf, queryImagesByName } from './repository.js';
import { findImage } from './service.js';

export const DEFAULT_PAGE = 100;

/**
 * The records of one page, counted as Lambda counts its response (UTF-8, the
 * body's JSON escaped again inside the response object), not in characters:
 * 1 MiB under Lambda's 6 MB leaves room for the envelope, headers and cursor.
 */
export const MAX_PAGE_BYTES = LAMBDA_MAX_RESPONSE_BYTES - 1024 * 1024;

export interface ListQuery {
  limit?: number;
  /** A cursor from an earlier page. */
  next?: string;
  name?: string;
  parent?: string;
  distro?: string;
}

export interface ListPage {
  records: Record<string, ImageRecord>;
  next?: string;
}

export async function listImages(q: ListQuery): Promise<ListPage> {
  const records: Record<string, ImageRecord> = {};
  if (q.name !== undefined) {
    // A name names at most one image; the other filters still apply to it.
    const item = await findImage(q.name);
    if (item && item.name === q.name && matches(item, q.distro) && (await parentMatches(item, q.parent))) {
      records[item.uid] = toRecord(item);
    }
    return { records };
  }
  let parent: string | undefined;
  if (q.parent !== undefined) {
    parent = await parentUid(q.parent);
    if (parent === undefined) return { records };
  }
  const page = await queryImagesByName({
    limit: q.limit ?? DEFAULT_PAGE,
    ...(q.next !== undefined ? { after: decodeCursor(q.next) } : {}),
    ...(parent !== undefined ? { parent } : {}),
    ...(q.distro !== undefined ? { distro: q.distro } : {}),
  });
  let next = page.next;
  let bytes = 0;
  let previous: (typeof page.items)[number] | undefined;
  for (const item of page.items) {
    const record = toRecord(item);
    bytes += payloadBytesOf(`${JSON.stringify(item.uid)}:${JSON.stringify(record)},`);
    // Lambda answers at most 6 MB: a page of long descriptions ends early, with a cursor.
    if (bytes > MAX_PAGE_BYTES && previous !== undefined) {
      next = indexKeyOf(previous);
      break;
    }
    previous = item;
    records[item.uid] = record;
  }
  return { records, ...(next ? { next: encodeCursor(next) } : {}) };
}

const matches = (item: ImageItem, distro: string | undefined): boolean => distro === undefined || item.distro === distro;

async function parentMatches(item: ImageItem, parent: string | undefined): Promise<boolean> {
  if (parent === undefined) return true;
  const uid = await parentUid(parent);
  return uid !== undefined && item.parent === uid;
}

/**
 * The UID a `parent` filter stands for: a name is looked up; a UID is taken as
 * it is, since children keep naming a parent that has since been deleted.
 */
async function parentUid(parent: string): Promise<string | undefined> {
  return asUid(parent) ?? (await findImage(parent))?.uid;
}
