/**
 * Route handlers for the image records: validate at the edge, call the core,
 * answer in the envelope.
 */
import { invalid } from '../core/errors.js';
import * as clones from '../core/content/clone.js';
import * as list from '../core/images/list.js';
import { toRecord, type EditableFields, type ImageItem } from '../core/images/model.js';
import * as images from '../core/images/service.js';
import { withQuery, type RouteHandler } from '../http/api-handler.js';
import { ok, type HttpResult } from '../http/envelope.js';
import { etagOf, jsonBody } from '../http/request.js';
import { parseWith } from '../http/validation.js';
import { API_BASE } from '../routes.js';
import { id, versionOption } from './params.js';
import { cloneBody, createBody, EDITABLE, listQuery, patchBody, READ_ONLY, replaceBody } from './schemas.js';

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

export const listImages: RouteHandler = withQuery(async ({ query }) => {
  const q = parseWith(listQuery, query, 'query');
  const page = await list.listImages(q);
  return ok(page.records, page.next !== undefined ? { extra: { next: page.next } } : {});
});

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
  const item = await clones.cloneImage(id(params), body, actor, versionOption(event.headers));
  return ok(item.uid, { status: 201, headers: { location: `${API_BASE}/image/${item.uid}`, etag: etagOf(item.version) } });
};
