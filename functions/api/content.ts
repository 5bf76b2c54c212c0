/** Route handlers for an image's content and its upload sessions. */
import * as files from '../core/content/service.js';
import { toRecord } from '../core/images/model.js';
import * as uploads from '../core/uploads/service.js';
import { withQuery, type RouteHandler } from '../http/api-handler.js';
import { ok } from '../http/envelope.js';
import { jsonBody } from '../http/request.js';
import { parseWith } from '../http/validation.js';
import { API_BASE } from '../routes.js';
import { id, uploadId, versionOption } from './params.js';
import { completeUploadBody, downloadQuery, startUploadBody } from './schemas.js';

export const deleteImage: RouteHandler = async ({ event, params }) => {
  const item = await files.deleteImageWithContent(id(params), versionOption(event.headers));
  return ok(item.uid);
};

/** `curl -L` follows the 302 to S3; `?redirect=false` gives the link as data instead. */
export const getContent: RouteHandler = withQuery(async ({ params, query }) => {
  const q = parseWith(downloadQuery, query, 'query');
  const link = await files.downloadLink(id(params), q.parts);
  if (q.redirect === 'false' || q.parts !== undefined) return ok(link);
  return { statusCode: 302, headers: { location: link.url, 'cache-control': 'no-store' }, body: '' };
});

export const startUpload: RouteHandler = async ({ event, params, actor }) => {
  const body = parseWith(startUploadBody, jsonBody(event), 'upload');
  const session = await uploads.startUpload(id(params), body, actor, versionOption(event.headers));
  return ok(session, {
    status: 201,
    headers: { location: `${API_BASE}/image/${session.image}/content/upload/${session.upload_id}` },
  });
};

export const describeUpload: RouteHandler = async ({ params }) => ok(await uploads.describeUpload(id(params), uploadId(params)));

export const completeUpload: RouteHandler = async ({ event, params }) => {
  const body = parseWith(completeUploadBody, jsonBody(event), 'completion');
  return ok(await uploads.completeUpload(id(params), uploadId(params), body.parts, body.sha1), { status: 202 });
};

export const abortUpload: RouteHandler = async ({ params }) => ok(await uploads.abortUpload(id(params), uploadId(params)));

export const deleteContent: RouteHandler = async ({ event, params }) =>
  ok(toRecord(await files.deleteContent(id(params), versionOption(event.headers))));

export const contentStat: RouteHandler = async ({ params }) => {
  const { entry } = await files.recordedContentOf(id(params));
  return ok({ size: entry.size, mtime: entry.mtime });
};

export const contentInfo: RouteHandler = async ({ params }) => {
  const { file } = await files.contentOf(id(params));
  return ok({ size: file.size, mtime: file.mtime, chksum: file.chksum, refcnt: file.refcnt, fmt: file.fmt });
};
