/**
 * Builds an API function: a middy stack that logs with the Lambda context,
 * dispatches on API Gateway's `routeKey`, enforces the route's role from the
 * verified claims, and maps every error to the envelope in one place.
 */
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import middy from '@middy/core';
import type { APIGatewayProxyEventV2WithJWTAuthorizer, Context } from 'aws-lambda';
import * as z from 'zod/mini';
import { config } from '../core/config.js';
import { forbidden } from '../core/errors.js';
import { logger } from '../core/logger.js';
import type { Actor } from '../core/images/model.js';
import type { CaptureContext } from '../core/capture/authorize.js';
import { API_BASE, matchRoute, routeKey, ROUTES, type ApiFunction, type RouteSpec } from '../routes.js';
import { captureOf, principalOf, type Principal } from './auth.js';
import { fail, type HttpResult } from './envelope.js';
import { errorToResponse } from './errors.js';
import { parseWith } from './validation.js';

type JwtAuthorizer = APIGatewayProxyEventV2WithJWTAuthorizer['requestContext']['authorizer'];

/**
 * What the local gateway and API Gateway both deliver: the JWT authorizer's
 * claims, or on the capture routes the capture authorizer's context. The type
 * keeps both optional so a missing one is a 401, not a crash.
 */
export type ApiEvent = Omit<APIGatewayProxyEventV2WithJWTAuthorizer, 'requestContext'> & {
  requestContext: Omit<APIGatewayProxyEventV2WithJWTAuthorizer['requestContext'], 'authorizer'> & {
    authorizer?: Partial<JwtAuthorizer> & { lambda?: Partial<CaptureContext> };
  };
};

export interface ApiRequest {
  event: ApiEvent;
  params: Record<string, string>;
  query: Record<string, string>;
  principal: Principal;
  actor: Actor;
  /** On the capture routes: the job whose credential the capture authorizer accepted. */
  capture?: CaptureContext;
}

export type RouteHandler = (request: ApiRequest) => Promise<HttpResult>;

/** Handlers that read `query` and validate it with their own schema. */
const readsQuery = new WeakSet<RouteHandler>();

/** Marks a handler that takes query parameters; every other route refuses any, whatever its name. */
export function withQuery(handler: RouteHandler): RouteHandler {
  readsQuery.add(handler);
  return handler;
}

const NO_QUERY = z.strictObject({});

type KeyOf<R extends RouteSpec> = R extends RouteSpec ? `${R['method']} ${typeof API_BASE}${R['path']}` : never;
/** A handler for every route the table gives this function, checked at compile time. */
export type Handlers<F extends ApiFunction> = { [K in KeyOf<Extract<RouteSpec, { fn: F }>>]: RouteHandler };

export function apiHandler<F extends ApiFunction>(fn: F, handlers: Handlers<F>) {
  const routes = new Map(ROUTES.filter((r) => r.fn === fn).map((r) => [routeKey(r), r]));
  const byKey = handlers as Record<string, RouteHandler>;

  return middy<ApiEvent, HttpResult, Error, Context>()
    .use(injectLambdaContext(logger, { resetKeys: true }))
    .use({
      onError: async (request) => {
        request.response = errorToResponse(request.error, logger);
      },
    })
    .handler(async (event) => {
      const route = routes.get(event.routeKey);
      const handle = byKey[event.routeKey];
      if (!route || !handle) return unmatched(event);
      const params = stringsOf(event.pathParameters);
      const capture = 'capture' in route ? captureOf(event, params) : undefined;
      const principal = capture ? { user: `capture:${capture.capture_id}`, admin: false } : principalOf(event);
      if (route.admin && !principal.admin) {
        throw forbidden(`${route.method} ${route.path} needs the admin role; "${principal.user}" is not in "${config.adminGroup}"`);
      }
      const query = stringsOf(event.queryStringParameters);
      if (!readsQuery.has(handle)) parseWith(NO_QUERY, query, 'query');
      return handle({
        event,
        params,
        query,
        principal,
        actor: { user: principal.user, site: config.siteName },
        ...(capture ? { capture } : {}),
      });
    });
}

/** API Gateway's `$default` route lands here: say what exists instead of a bare 404. */
function unmatched(event: ApiEvent): HttpResult {
  const match = matchRoute(event.requestContext.http.method, event.rawPath);
  if (match.kind === 'method_not_allowed') {
    return fail(405, `${event.requestContext.http.method} is not allowed on ${event.rawPath}; use ${match.allowed.join(', ')}`, {
      allow: match.allowed.join(', '),
    });
  }
  return fail(404, `no such route: ${event.requestContext.http.method} ${event.rawPath} (the API lives under ${API_BASE})`);
}

/**
 * Without a prototype: a parameter named "__proto__" (JSON.parse makes it an
 * own key of the event) is then kept and refused as unknown, not swallowed.
 */
function stringsOf(record: Record<string, string | undefined> | undefined): Record<string, string> {
  const out: Record<string, string> = Object.create(null) as Record<string, string>;
  for (const [k, v] of Object.entries(record ?? {})) if (v !== undefined) out[k] = v;
  return out;
}
