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
import { cloneBody, completeUploadBody, createBody, downloadQuery, listQuery, patchBody, replaceBody, startUploadBody } from './schemas.js';

export const OPENAPI_PATH = `${API_BASE}/openapi.json`;

type Body = z.core.$ZodType;

interface Operation {
  summary: string;
  description?: string;
  /** Status and schema of the success answer(s). */
  ok: Record<number, Body | { redirect: string }>;
  body?: Body;
  query?: z.core.$ZodObject;
  /** Takes `If-Match` and checks it against the record's ETag. */
  ifMatch?: boolean;
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
  const statuses = [400, 401];
  if (route.admin) statuses.push(403, 409);
  if (route.path.includes('{id}')) statuses.push(404);
  if (op.ifMatch) statuses.push(412);
  statuses.push(413, 500, 503);
  return statuses;
}

const json = (schema: Body) => ({ 'application/json': { schema } });

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
    path[param] = z
      .string()
      .check(z.meta({ description: param === 'id' ? 'The image UID (32 hex characters) or name.' : 'The upload id.' }));
  }
  return {
    operationId: `${route.method.toLowerCase()}${route.path.replace(/\{(\w+)\}/g, 'By_$1').replace(/[^A-Za-z0-9_]+(.)?/g, (_, c: string | undefined) => (c ?? '').toUpperCase())}`,
    summary: op.summary,
    ...(op.description ? { description: op.description } : {}),
    tags: [route.path.includes('/content') ? 'content' : 'images'],
    ...(route.admin ? { 'x-role': 'admin' } : { 'x-role': 'reader' }),
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
    ...(op.body ? { requestBody: { required: true, content: json(op.body) } } : {}),
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
    ],
    paths,
    components: {
      securitySchemes: { bearer: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' } },
      responses,
      schemas: {
        Image: res.imageRecord,
        ContentEntry: res.contentEntry,
        UploadSession: res.uploadSession,
        DownloadLink: res.downloadLink,
        Failure: res.failure,
      },
    },
  });
}
