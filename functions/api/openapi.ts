/**
 * The OpenAPI 3.1 description, generated from the zod schemas the handlers
 * validate requests with (schemas.ts) and the ones that describe their
 * answers (responses.ts). One entry per route of the route table: a route
 * added there without one here is a compile error. Never bundled into a
 * Lambda: the local gateway serves it, and the console's build writes it as
 * a static file (console/build.ts).
 */
import { createDocument, type ZodOpenApiOperationObject, type ZodOpenApiResponsesObject } from 'zod-openapi';
import * as z from 'zod/mini';
import { API_BASE, ROUTES, routeKey, type RouteSpec } from '../routes.js';
import * as res from './responses.js';
import {
  captureBody,
  cloneBody,
  completeUploadBody,
  createBody,
  downloadQuery,
  listQuery,
  patchBody,
  replaceBody,
  startUploadBody,
} from './schemas.js';

export const OPENAPI_PATH = `${API_BASE}/openapi.json`;

type Body = z.core.$ZodType;

interface Operation {
  summary: string;
  description?: string;
  /** Status and schema of the success answer(s). */
  ok: Record<number, Body | { redirect: string }>;
  body?: Body;
  query?: z.core.$ZodObject;
  /** The body may be left out (a GET that also takes one). */
  bodyOptional?: boolean;
  /** Takes `If-Match` and checks it against the record's ETag. */
  ifMatch?: boolean;
  /** Error statuses beyond the ones every route of its kind has. */
  errors?: number[];
}

type RouteKey = RouteSpec extends infer R ? (R extends RouteSpec ? `${R['method']} ${typeof API_BASE}${R['path']}` : never) : never;

const OPERATIONS: Record<RouteKey, Operation> = {
  'POST /api/v1/images': { summary: 'Create an image', ok: { 201: res.success(res.uidData) }, body: createBody },
  'GET /api/v1/images': {
    summary: 'List images',
    description: 'An object keyed by UID, in name order; a top-level `next` cursor when there are more.',
    ok: { 200: res.listSuccess },
    query: listQuery,
  },
  'GET /api/v1/image/{id}': { summary: 'Get one image record', ok: { 200: res.success(res.imageRecord) } },
  'PATCH /api/v1/image/{id}': {
    summary: 'Change the given fields',
    ok: { 200: res.success(res.imageRecord) },
    body: patchBody,
    ifMatch: true,
  },
  'PUT /api/v1/image/{id}': {
    summary: 'Replace every editable field (absent optional ones are cleared)',
    ok: { 200: res.success(res.imageRecord) },
    body: replaceBody,
    ifMatch: true,
  },
  'DELETE /api/v1/image/{id}': {
    summary: 'Delete an image; its content reference is released',
    ok: { 200: res.success(res.uidData) },
    ifMatch: true,
  },
  'POST /api/v1/image/{id}/clone': {
    summary: 'Clone: a new image sharing the same content file',
    ok: { 201: res.success(res.uidData) },
    body: cloneBody,
    ifMatch: true,
  },
  'GET /api/v1/image/{id}/content': {
    summary: 'Download the content',
    description: 'A 302 to a presigned GET of the file; `?redirect=false` (or `parts`) gives the link as data.',
    ok: { 302: { redirect: 'The presigned URL of the file.' }, 200: res.success(res.downloadLink) },
    query: downloadQuery,
  },
  'PUT /api/v1/image/{id}/content': {
    summary: 'Start replacing the content: an upload session with presigned part URLs',
    ok: { 201: res.success(res.uploadSession) },
    body: startUploadBody,
    ifMatch: true,
  },
  'DELETE /api/v1/image/{id}/content': {
    summary: 'Release the content file',
    ok: { 200: res.success(res.imageRecord) },
    ifMatch: true,
  },
  'GET /api/v1/image/{id}/content/stat': { summary: 'Size and mtime of the content', ok: { 200: res.success(res.contentStat) } },
  'GET /api/v1/image/{id}/content/info': {
    summary: 'Size, mtime, checksum, reference count and format of the content',
    ok: { 200: res.success(res.contentInfo) },
  },
  'GET /api/v1/image/{id}/content/upload/{upload_id}': {
    summary: 'An upload session: its state, the parts already in S3 and fresh URLs for the missing ones',
    ok: { 200: res.success(res.uploadSession) },
  },
  'POST /api/v1/image/{id}/content/upload/{upload_id}': {
    summary: 'Complete an upload; the service then checks the file (state `hashing`, then `ready` or `failed`)',
    ok: { 202: res.success(res.uploadSession) },
    body: completeUploadBody,
  },
  'DELETE /api/v1/image/{id}/content/upload/{upload_id}': {
    summary: 'Abort an upload; its parts are removed',
    ok: { 200: res.success(res.uploadSession) },
  },
  'POST /api/v1/image/{id}/capture': {
    summary: 'Start a capture job: a single-use credential and the one command to run on the node',
    description:
      'The service never connects to the node: the node runs the command, which builds a squashfs of its root and uploads it ' +
      "with the job's credential. `credentials` is refused for that reason. The credential is shown this once.",
    ok: { 201: res.success(res.startedCapture) },
    body: captureBody,
  },
  'GET /api/v1/image/{id}/capture': {
    summary: "The image's capture jobs and their state; with the reference page's JSON body, starts one (admin)",
    description:
      'Without a body: the jobs, oldest first (a reader may list; secrets are never shown). With a JSON body, as POST. ' +
      'A GET body reaches the service only where the way to it passes one on (the local gateway does; CloudFront refuses a GET with a body): prefer POST.',
    ok: { 200: res.success(res.captureList), 201: res.success(res.startedCapture) },
    body: captureBody,
    bodyOptional: true,
    errors: [403],
  },
  'DELETE /api/v1/image/{id}/capture/{capture_id}': {
    summary: 'Revoke a capture job whose credential was not used up; an upload it opened is aborted',
    ok: { 200: res.success(res.captureJob) },
  },
  'GET /api/v1/capture/{capture_id}': {
    summary: 'The job, as its node sees it (capture credential)',
    description: "What to exclude and how to compress; after the upload, the service's verdict (`ready`, or `failed` with a reason).",
    ok: { 200: res.success(res.captureJob) },
  },
  'PUT /api/v1/capture/{capture_id}/content': {
    summary: "Start the job's upload into its image (capture credential); as PUT /image/{id}/content, fmt cwsquash",
    ok: { 201: res.success(res.uploadSession) },
    body: startUploadBody,
  },
  'GET /api/v1/capture/{capture_id}/content/upload/{upload_id}': {
    summary: "The job's upload session (capture credential)",
    ok: { 200: res.success(res.uploadSession) },
  },
  'POST /api/v1/capture/{capture_id}/content/upload/{upload_id}': {
    summary: "Complete the job's upload (capture credential); this uses the credential up",
    ok: { 202: res.success(res.uploadSession) },
    body: completeUploadBody,
  },
  'DELETE /api/v1/capture/{capture_id}/content/upload/{upload_id}': {
    summary: "Abort the job's upload (capture credential); the job may start another",
    ok: { 200: res.success(res.uploadSession) },
  },
};

const ERRORS: Record<number, string> = {
  400: 'Bad input: the reason says which field and why.',
  401: 'No token, or not a valid one.',
  403: 'Not an admin, or the image is frozen.',
  404: 'No such image or upload.',
  409: 'Conflict: name taken, concurrent change, or the upload is in the wrong state.',
  412: 'If-Match named a version other than the current one.',
  413: 'Too large.',
  500: 'Internal error; the service logged the details.',
  503: 'Busy or briefly failing; retry.',
};

function errorStatuses(route: (typeof ROUTES)[number], op: Operation): number[] {
  const statuses = [400, 401, ...(op.errors ?? [])];
  // The capture authorizer refuses a credential that does not open the route with a 403.
  if (route.admin || 'capture' in route) statuses.push(403, 409);
  if (route.path.includes('{id}') || route.path.includes('{capture_id}')) statuses.push(404);
  if (op.ifMatch) statuses.push(412);
  statuses.push(413, 500, 503);
  return statuses;
}

const json = (schema: Body) => ({ 'application/json': { schema } });

const PATH_PARAMS: Record<string, string> = {
  id: 'The image UID (32 hex characters) or name.',
  upload_id: 'The upload id.',
  capture_id: 'The capture job id.',
};

function operation(route: (typeof ROUTES)[number]): ZodOpenApiOperationObject {
  const key = routeKey(route) as RouteKey;
  const op = OPERATIONS[key];
  const responses: ZodOpenApiResponsesObject = {};
  for (const [status, answer] of Object.entries(op.ok)) {
    responses[status as `${1 | 2 | 3 | 4 | 5}${string}`] =
      'redirect' in answer
        ? { description: answer.redirect, headers: { location: { required: true, schema: { type: 'string' } } } }
        : { description: 'Success', content: json(answer) };
  }
  for (const status of errorStatuses(route, op)) {
    responses[String(status) as `${4 | 5}${string}`] = { $ref: `#/components/responses/E${status}` };
  }
  const path: Record<string, z.core.$ZodType> = {};
  for (const name of route.path.match(/\{(\w+)\}/g) ?? []) {
    const param = name.slice(1, -1);
    path[param] = z.string().check(z.meta({ description: PATH_PARAMS[param] ?? param }));
  }
  return {
    operationId: `${route.method.toLowerCase()}${route.path.replace(/\{(\w+)\}/g, 'By_$1').replace(/[^A-Za-z0-9_]+(.)?/g, (_, c: string | undefined) => (c ?? '').toUpperCase())}`,
    summary: op.summary,
    ...(op.description ? { description: op.description } : {}),
    tags: [route.path.includes('/capture') ? 'capture' : route.path.includes('/content') ? 'content' : 'images'],
    ...('capture' in route
      ? { 'x-role': 'capture credential', security: [{ capture: [] }] }
      : { 'x-role': route.admin ? 'admin' : 'reader' }),
    requestParams: {
      ...(Object.keys(path).length > 0 ? { path: z.object(path) } : {}),
      ...(op.query ? { query: op.query } : {}),
      ...(op.ifMatch
        ? {
            header: z.object({
              'if-match': z.optional(
                z.string().check(z.meta({ description: 'Proceed only if the record still has this ETag (such as `"3"`).' })),
              ),
            }),
          }
        : {}),
    },
    ...(op.body ? { requestBody: { required: op.bodyOptional !== true, content: json(op.body) } } : {}),
    responses,
  };
}

/** The whole document; cheap enough to build at start, and deterministic. */
export function openApiDocument(): ReturnType<typeof createDocument> {
  const paths: Record<string, Record<string, ZodOpenApiOperationObject>> = {};
  for (const route of ROUTES) {
    const path = API_BASE + route.path;
    paths[path] = { ...paths[path], [route.method.toLowerCase()]: operation(route) };
  }
  const responses: Record<string, { description: string; content: ReturnType<typeof json> }> = {};
  for (const [status, description] of Object.entries(ERRORS)) {
    responses[`E${status}`] = { description, content: json(res.failure) };
  }
  return createDocument({
    openapi: '3.1.0',
    info: {
      title: 'Image Service',
      version: '1',
      description:
        'Image records of cluster boot images and their content, moved through presigned S3 URLs. ' +
        'Every answer is an envelope: `{"success": true, "data": ...}` or `{"success": false, "reason": "..."}`. ' +
        'Changes need the admin role.',
    },
    servers: [{ url: '/' }],
    security: [{ bearer: [] }],
    tags: [
      { name: 'images', description: 'Image records' },
      { name: 'content', description: 'Content files and their uploads' },
      { name: 'capture', description: 'Capture jobs: a node captures its root file system into an image' },
    ],
    paths,
    components: {
      securitySchemes: {
        bearer: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' },
        capture: {
          type: 'apiKey',
          in: 'header',
          name: 'Authorization',
          description: "`Capture <capture_id>.<secret>`: a capture job's credential; it opens only that job's /capture routes.",
        },
      },
      responses,
      schemas: {
        Image: res.imageRecord,
        ContentEntry: res.contentEntry,
        UploadSession: res.uploadSession,
        DownloadLink: res.downloadLink,
        CaptureJob: res.captureJob,
        Failure: res.failure,
      },
    },
  });
}
