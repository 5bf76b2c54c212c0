/**
 * Route handlers for the image records: validate at the edge, call the core,
 * answer in the envelope.
 */
import { invalid } from '../core/errors.js';
import { asUid } from '../core/ids.js';
import { toRecord, type EditableFields, type ImageItem, type ImageRecord } from '../core/images/model.js';
import { indexKeyOf } from '../core/images/repository.js';
import * as images from '../core/images/service.js';
import type { RouteHandler } from '../http/api-handler.js';
import { ok, type HttpResult } from '../http/envelope.js';
import { etagOf, ifMatchVersions, jsonBody } from '../http/request.js';
import { parseWith } from '../http/validation.js';
import { API_BASE } from '../routes.js';
import { decodeCursor, encodeCursor } from './cursor.js';
import { cloneBody, createBody, EDITABLE, listQuery, patchBody, READ_ONLY, replaceBody } from './schemas.js';

const DEFAULT_PAGE = 100;

/** Unknown and read-only keys get a reason of their own, before zod's generic one. */
function editableBody(body: Record<string, unknown>, allowed: readonly string[] = EDITABLE): Record<string, unknown> {
  for (const key of Object.keys(body)) {
    if ((READ_ONLY as readonly string[]).includes(key)) {
      throw invalid(
        key === 'content'
          ? 'content cannot be set here; upload it with PUT /image/{id}/content'
          : `"${key}" is set by the service and cannot be changed`,
      );
    }
    if (!allowed.includes(key)) throw invalid(`unknown field "${key}"; the fields are ${allowed.join(', ')}`);
  }
  return body;
}

const recordResponse = (item: ImageItem, status = 200): HttpResult =>
  ok(toRecord(item), { status, headers: { etag: etagOf(item.version) } });

export const createImage: RouteHandler = async ({ event, actor }) => {
  const body = parseWith(createBody, editableBody(jsonBody(event)), 'image');
  const item = await images.createImage(body, actor);
  return ok(item.uid, { status: 201, headers: { location: `${API_BASE}/image/${item.uid}`, etag: etagOf(item.version) } });
};

export const listImages: RouteHandler = async ({ query }) => {
  const q = parseWith(listQuery, query, 'query');
  const data: Record<string, ImageRecord> = {};
  if (q.name !== undefined) {
    // A name names at most one image; the other filters still apply to it.
    const item = await images.findImage(q.name);
    if (item && item.name === q.name && matches(item, q.distro) && (await parentMatches(item, q.parent))) {
      data[item.uid] = toRecord(item);
    }
    return ok(data);
  }
  let parent: string | undefined;
  if (q.parent !== undefined) {
    parent = await parentUid(q.parent);
    if (parent === undefined) return ok(data);
  }
  const page = await images.listImages({
    limit: q.limit ?? DEFAULT_PAGE,
    ...(q.next !== undefined ? { after: decodeCursor(q.next) } : {}),
    ...(parent !== undefined ? { parent } : {}),
    ...(q.distro !== undefined ? { distro: q.distro } : {}),
  });
  let next = page.next;
  let bytes = 0;
  for (const [i, item] of page.items.entries()) {
    const record = toRecord(item);
    bytes += JSON.stringify(record).length;
    // Lambda answers at most 6 MB: a page of long descriptions ends early, with a cursor.
    if (bytes > MAX_PAGE_BYTES && i > 0) {
      next = indexKeyOf(page.items[i - 1]!);
      break;
    }
    data[item.uid] = record;
  }
  return ok(data, next ? { extra: { next: encodeCursor(next) } } : {});
};

/** Well under Lambda's 6 MB response limit, leaving room for the envelope. */
export const MAX_PAGE_BYTES = 4 * 1024 * 1024;

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
  return asUid(parent) ?? (await images.findImage(parent))?.uid;
}

export const getImage: RouteHandler = async ({ params }) => recordResponse(await images.getImage(id(params)));

export const patchImage: RouteHandler = async ({ event, params, actor }) => {
  const patch = parseWith(patchBody, editableBody(jsonBody(event)), 'change');
  const item = await images.updateImage(
    id(params),
    (current): EditableFields => ({ ...current, ...patch }),
    actor,
    versionOption(event.headers),
  );
  return recordResponse(item);
};

export const replaceImage: RouteHandler = async ({ event, params, actor }) => {
  const body = parseWith(replaceBody, editableBody(jsonBody(event)), 'image');
  const item = await images.updateImage(
    id(params),
    (): EditableFields => ({ description: null, parent: null, distro: null, frozen: false, ...body }),
    actor,
    versionOption(event.headers),
  );
  return recordResponse(item);
};

export const cloneImage: RouteHandler = async ({ event, params, actor }) => {
  const body = parseWith(cloneBody, editableBody(jsonBody(event), ['name', 'description']), 'clone');
  const item = await images.cloneImage(id(params), body, actor, versionOption(event.headers));
  return ok(item.uid, { status: 201, headers: { location: `${API_BASE}/image/${item.uid}`, etag: etagOf(item.version) } });
};

export function versionOption(headers: Parameters<typeof ifMatchVersions>[0]): images.WriteOptions {
  const versions = ifMatchVersions(headers);
  return versions === undefined ? {} : { expectedVersions: versions };
}

export function id(params: Record<string, string>): string {
  const value = params['id'];
  if (value === undefined || value === '') throw invalid('the image UID or name is missing from the path');
  return value;
}
