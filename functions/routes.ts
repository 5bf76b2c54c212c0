/**
 * The API's route table: the one place that says which routes exist, which
 * Lambda serves each, and which need the admin role. The CDK stack creates
 * exactly these HTTP API routes, the local gateway matches requests against
 * them, and each function dispatches on `event.routeKey`.
 *
 * Functions are split by what they may touch: `records` reaches only the
 * table; `content` also presigns and deletes objects under `content/`, so
 * every route that can release a file (deleting an image, deleting content)
 * lives there.
 *
 * Every route sits behind the JWT authorizer but those marked `capture`,
 * which sit behind the capture authorizer instead: they take a capture job's
 * credential (`Authorization: Capture <id>.<secret>`) and nothing else, and a
 * JWT opens none of them (functions/core/capture/authorize.ts).
 */
export const API_BASE = '/api/v1';

export type HttpMethod = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
export type ApiFunction = 'records' | 'content';

export interface Route {
  readonly method: HttpMethod;
  /** Path below API_BASE, with `{param}` placeholders as API Gateway writes them. */
  readonly path: string;
  readonly fn: ApiFunction;
  readonly admin: boolean;
  /** Behind the capture authorizer, for a job's `upload` or its `status` (see functions/core/capture/authorize.ts). */
  readonly capture?: 'status' | 'upload';
}

export const ROUTES = [
  { method: 'POST', path: '/images', fn: 'records', admin: true },
  { method: 'GET', path: '/images', fn: 'records', admin: false },
  { method: 'GET', path: '/image/{id}', fn: 'records', admin: false },
  { method: 'PATCH', path: '/image/{id}', fn: 'records', admin: true },
  { method: 'PUT', path: '/image/{id}', fn: 'records', admin: true },
  { method: 'DELETE', path: '/image/{id}', fn: 'content', admin: true },
  { method: 'POST', path: '/image/{id}/clone', fn: 'records', admin: true },
  { method: 'GET', path: '/image/{id}/content', fn: 'content', admin: false },
  { method: 'PUT', path: '/image/{id}/content', fn: 'content', admin: true },
  { method: 'DELETE', path: '/image/{id}/content', fn: 'content', admin: true },
  { method: 'GET', path: '/image/{id}/content/stat', fn: 'content', admin: false },
  { method: 'GET', path: '/image/{id}/content/info', fn: 'content', admin: false },
  { method: 'GET', path: '/image/{id}/content/upload/{upload_id}', fn: 'content', admin: true },
  { method: 'POST', path: '/image/{id}/content/upload/{upload_id}', fn: 'content', admin: true },
  { method: 'DELETE', path: '/image/{id}/content/upload/{upload_id}', fn: 'content', admin: true },
  { method: 'POST', path: '/image/{id}/capture', fn: 'content', admin: true },
  // A reader lists; the same GET carrying the reference page's JSON body starts a job, and needs the admin role.
  { method: 'GET', path: '/image/{id}/capture', fn: 'content', admin: false },
  { method: 'DELETE', path: '/image/{id}/capture/{capture_id}', fn: 'content', admin: true },
  { method: 'GET', path: '/capture/{capture_id}', fn: 'content', admin: false, capture: 'status' },
  { method: 'PUT', path: '/capture/{capture_id}/content', fn: 'content', admin: false, capture: 'upload' },
  // A read: the node waits on it for the service's check after its completion used the credential up.
  { method: 'GET', path: '/capture/{capture_id}/content/upload/{upload_id}', fn: 'content', admin: false, capture: 'status' },
  { method: 'POST', path: '/capture/{capture_id}/content/upload/{upload_id}', fn: 'content', admin: false, capture: 'upload' },
  { method: 'DELETE', path: '/capture/{capture_id}/content/upload/{upload_id}', fn: 'content', admin: false, capture: 'upload' },
] as const satisfies readonly Route[];

export type RouteSpec = (typeof ROUTES)[number];
export type RouteKey = `${RouteSpec['method']} ${typeof API_BASE}${RouteSpec['path']}`;

export const routeKey = (route: Route): string => `${route.method} ${API_BASE}${route.path}`;

export type RouteMatch =
  | { kind: 'route'; route: Route; params: Record<string, string> }
  | { kind: 'method_not_allowed'; allowed: HttpMethod[] }
  | { kind: 'not_found' };

const compiled = ROUTES.map((route) => {
  const names: string[] = [];
  const source = (API_BASE + route.path).replace(/\{(\w+)\}/g, (_, name: string) => {
    names.push(name);
    return '([^/]+)';
  });
  return { route: route as Route, names, regex: new RegExp(`^${source}/?$`) };
});

/** Matches a request as API Gateway does: literal segments, `{param}` for one segment. */
export function matchRoute(method: string, path: string): RouteMatch {
  const allowed: HttpMethod[] = [];
  for (const { route, names, regex } of compiled) {
    const m = regex.exec(path);
    if (!m) continue;
    if (route.method !== method) {
      allowed.push(route.method);
      continue;
    }
    const params: Record<string, string> = {};
    names.forEach((name, i) => {
      params[name] = safeDecode(m[i + 1] ?? '');
    });
    return { kind: 'route', route, params };
  }
  return allowed.length > 0 ? { kind: 'method_not_allowed', allowed } : { kind: 'not_found' };
}

/** A segment with broken %-encoding stays as sent: it then names nothing, which is a 404, not a crash. */
function safeDecode(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}
