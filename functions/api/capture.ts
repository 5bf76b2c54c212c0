/** Route handlers for capture jobs: the admins' routes under /image/{id}/capture, and the node's under /capture/{capture_id}. */
import type { CaptureContext } from '../core/capture/authorize.js';
import * as capture from '../core/capture/service.js';
import { forbidden, ServiceError } from '../core/errors.js';
import { config } from '../core/config.js';
import type { ApiEvent, ApiRequest, RouteHandler } from '../http/api-handler.js';
import { ok } from '../http/envelope.js';
import { jsonBody } from '../http/request.js';
import { parseWith } from '../http/validation.js';
import { API_BASE } from '../routes.js';
import { id, uploadId } from './params.js';
import { captureBody, completeUploadBody, startUploadBody } from './schemas.js';

/** The API's own base URL, as the caller reached it, for the command the node runs. */
function apiUrlOf(event: ApiEvent): string {
  const proto = event.headers['x-forwarded-proto'] ?? 'https';
  return `${proto}://${event.requestContext.domainName}${API_BASE}`;
}

async function start({ event, params, actor }: ApiRequest) {
  const body = parseWith(captureBody, jsonBody(event), 'capture');
  const job = await capture.startCapture(id(params), body, actor, apiUrlOf(event));
  return ok(job, { status: 201, headers: { location: `${API_BASE}/image/${job.image}/capture`, 'cache-control': 'no-store' } });
}

export const startCapture: RouteHandler = start;

/**
 * A reader lists the jobs; a GET carrying the reference page's JSON body
 * starts one, as POST does (and needs the admin role, as POST does).
 */
export const listOrStartCapture: RouteHandler = async (request) => {
  const { event, params, principal } = request;
  if ((event.body ?? '').trim() !== '') {
    if (!principal.admin) {
      throw forbidden(
        `GET /image/{id}/capture with a body starts a capture and needs the admin role; "${principal.user}" is not in "${config.adminGroup}"`,
      );
    }
    return start(request);
  }
  return ok(await capture.listCaptures(id(params)));
};

export const revokeCapture: RouteHandler = async ({ params, actor }) =>
  ok(await capture.revokeCapture(id(params), params['capture_id'] ?? '', actor));

/* The node's routes: the capture authorizer has accepted the job's credential and named the job. */

function jobOf(request: ApiRequest): CaptureContext {
  if (!request.capture) throw new ServiceError('unauthenticated', 'a capture credential is required');
  return request.capture;
}

export const captureStatus: RouteHandler = async (request) => ok(await capture.captureStatus(jobOf(request).capture_id));

export const captureStartUpload: RouteHandler = async (request) => {
  const body = parseWith(startUploadBody, jsonBody(request.event), 'upload');
  const job = jobOf(request);
  const session = await capture.captureStartUpload(job, body);
  return ok(session, { status: 201, headers: { location: `${API_BASE}/capture/${job.capture_id}/content/upload/${session.upload_id}` } });
};

export const captureDescribeUpload: RouteHandler = async (request) =>
  ok(await capture.captureDescribeUpload(jobOf(request), uploadId(request.params)));

export const captureCompleteUpload: RouteHandler = async (request) => {
  const body = parseWith(completeUploadBody, jsonBody(request.event), 'completion');
  return ok(await capture.captureCompleteUpload(jobOf(request), uploadId(request.params), body.parts, body.sha1), { status: 202 });
};

export const captureAbortUpload: RouteHandler = async (request) =>
  ok(await capture.captureAbortUpload(jobOf(request), uploadId(request.params)));
