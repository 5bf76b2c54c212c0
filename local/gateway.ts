/**
 * The local API Gateway: turns each HTTP request into an HTTP API payload 2.0
 * event, verifies the Bearer token as a JWT authorizer would, and hands it to
 * the route's function (its warm containers, local/api-functions.ts), built
 * from the same handler module Lambda runs. Every route, `$default` included,
 * is behind the JWT authorizer, as on AWS, but the capture routes: without a
 * valid token the answer is 401 before any routing; with one, a request that
 * matches no route goes to the `$default` route (the records function), which
 * answers 404 or 405. The capture routes (`capture` in functions/routes.ts)
 * are behind the capture authorizer instead, the same handler Lambda runs as
 * API Gateway's REQUEST authorizer: no Authorization header is a 401 without
 * calling it, a refusal is a 403, and its context reaches the handler as
 * `requestContext.authorizer.lambda`.
 */
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import type { JWTPayload } from 'jose';
import type { ApiEvent } from '../functions/http/api-handler.js';
import type { CaptureAuthorizerEvent, CaptureAuthorizerResult } from '../functions/capture-authorizer.js';
import { matchRoute, routeKey, type ApiFunction } from '../functions/routes.js';
import { serveConsole } from './console.js';
import { TokenRejected, verifyToken, type SigningKeys } from './tokens.js';

/** What `invoke` rejects with when the function did not answer within the integration timeout: API Gateway answers 503. */
export class IntegrationTimedOut extends Error {}

export interface GatewayOptions {
  keys: SigningKeys;
  /**
   * Runs the route's function on the event, to answer by `deadline` (epoch ms),
   * rejecting with IntegrationTimedOut past it: local/api-functions.ts.
   */
  invoke: (fn: ApiFunction, event: ApiEvent, deadline: number) => Promise<APIGatewayProxyStructuredResultV2>;
  /** The capture routes' authorizer (functions/capture-authorizer.ts). */
  captureAuthorizer: (event: CaptureAuthorizerEvent) => Promise<CaptureAuthorizerResult>;
  /** One line per request on this stream, like an access log. */
  accessLog?: (line: string) => void;
}

/** API Gateway's own payload limit; the handlers enforce the API's smaller one. */
const GATEWAY_MAX_BODY = 10 * 1024 * 1024;
/** API Gateway's integration timeout. */
const API_TIMEOUT_MS = 30_000;

const TEXT_TYPES = /^(application\/(json|x-www-form-urlencoded|xml)|text\/)/i;

export function createGateway(options: GatewayOptions): Server {
  return createServer((req, res) => {
    const started = Date.now();
    // The console and openapi.json are static files, as CloudFront serves them: no Lambda, no token.
    serveConsole(req, res)
      .then((served) => (served ? undefined : handle(req, res, options)))
      .catch((error: unknown) => {
        // An HTTP API answers an integration past its timeout with 503, and a handler that
        // throws past its middy stack (or whose container died) with 500.
        if (error instanceof IntegrationTimedOut) {
          if (!res.headersSent) send(res, { statusCode: 503, body: JSON.stringify({ message: 'Service Unavailable' }) });
          return;
        }
        console.error('gateway: handler failed', error);
        if (!res.headersSent) send(res, { statusCode: 500, body: JSON.stringify({ message: 'Internal Server Error' }) });
      })
      .finally(() => options.accessLog?.(`${req.method} ${req.url} ${res.statusCode} ${Date.now() - started}ms`));
  });
}

async function handle(req: IncomingMessage, res: ServerResponse, options: GatewayOptions): Promise<void> {
  const body = await readBody(req);
  if (body === undefined) {
    send(res, envelopeError(413, `the request body is over API Gateway's ${GATEWAY_MAX_BODY} byte limit`));
    return;
  }
  const target = requestTarget(req.url ?? '');
  if (target === undefined) {
    send(res, envelopeError(400, 'the request target must be a path such as /api/v1/images (origin-form), not a URL'));
    return;
  }
  const method = (req.method ?? 'GET').toUpperCase();
  const match = matchRoute(method, target.path);

  let fn: ApiFunction = 'records';
  let key = '$default';
  let params: Record<string, string> | undefined;
  if (match.kind === 'route') {
    fn = match.route.fn;
    key = routeKey(match.route);
    params = match.params;
  }

  let authorizer: EventAuthorizer;
  if (match.kind === 'route' && match.route.capture !== undefined) {
    const header = req.headers.authorization;
    if (header === undefined || header.trim() === '') {
      send(
        res,
        envelopeError(401, 'a capture credential is required: send "Authorization: Capture <id>.<secret>"', {
          'www-authenticate': 'Capture',
        }),
      );
      return;
    }
    const verdict = await options.captureAuthorizer({ routeKey: key, headers: { authorization: header }, pathParameters: params ?? {} });
    if (!verdict.isAuthorized) {
      send(
        res,
        envelopeError(403, 'the capture credential does not open this route (wrong, expired, revoked or used up, or for another job)'),
      );
      return;
    }
    authorizer = { lambda: verdict.context };
  } else {
    const auth = await authorize(req.headers.authorization, options.keys);
    if ('reason' in auth) {
      send(res, envelopeError(401, auth.reason, { 'www-authenticate': 'Bearer' }));
      return;
    }
    authorizer = { principalId: '', integrationLatency: 0, jwt: { claims: auth.claims, scopes: [] } };
  }

  const event = buildEvent(req, target, method, key, body, params, authorizer);
  const result = await options.invoke(fn, event, Date.now() + API_TIMEOUT_MS);
  send(res, result);
}

function readBody(req: IncomingMessage): Promise<Buffer | undefined> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let over = false;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > GATEWAY_MAX_BODY) over = true;
      else chunks.push(chunk);
    });
    req.on('end', () => resolve(over ? undefined : Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

type Claims = Record<string, string | number | boolean | string[]>;
type EventAuthorizer = NonNullable<ApiEvent['requestContext']['authorizer']>;

async function authorize(header: string | undefined, keys: SigningKeys): Promise<{ claims: Claims } | { reason: string }> {
  if (header === undefined || header.trim() === '') {
    return { reason: 'a token is required: send "Authorization: Bearer <token>" (npm run token -- --user NAME [--admin])' };
  }
  const m = /^Bearer\s+(\S+)\s*$/i.exec(header);
  if (!m?.[1]) return { reason: 'the Authorization header must be "Bearer <token>"' };
  let payload: JWTPayload;
  try {
    payload = await verifyToken(keys, m[1]);
  } catch (error) {
    if (error instanceof TokenRejected) return { reason: error.message };
    throw error;
  }
  return { claims: flattenClaims(payload) };
}

interface RequestTarget {
  /** The path as sent, still %-encoded, like API Gateway's rawPath. */
  path: string;
  query: string;
}

/**
 * The request target as API Gateway reads it: a path and a query, taken as
 * sent. Resolving it as a URL would read `//host/api/v1/images` as host
 * "host" and path /api/v1/images (another path's answer) and throw on
 * `//%/...`; here those are paths that match no route. Absolute-form
 * (`http://host/path`), authority-form and `*` are refused.
 */
function requestTarget(raw: string): RequestTarget | undefined {
  if (!raw.startsWith('/')) return undefined;
  const q = raw.indexOf('?');
  return q < 0 ? { path: raw, query: '' } : { path: raw.slice(0, q), query: raw.slice(q + 1) };
}

/** HTTP APIs hand claims to Lambda as strings; lists become "[a b]". */
function flattenClaims(payload: JWTPayload): Claims {
  const out: Claims = {};
  for (const [k, v] of Object.entries(payload)) {
    out[k] = Array.isArray(v) ? `[${v.join(' ')}]` : typeof v === 'object' && v !== null ? JSON.stringify(v) : String(v);
  }
  return out;
}

function buildEvent(
  req: IncomingMessage,
  target: RequestTarget,
  method: string,
  key: string,
  body: Buffer,
  params: Record<string, string> | undefined,
  authorizer: EventAuthorizer,
): ApiEvent {
  // Without a prototype, a header or parameter named "__proto__" is a key like any other.
  const headers: Record<string, string> = Object.create(null) as Record<string, string>;
  for (const [k, v] of Object.entries(req.headers)) {
    if (v !== undefined) headers[k] = Array.isArray(v) ? v.join(',') : v;
  }
  // API Gateway adds it; the capture command's URL is built from it.
  headers['x-forwarded-proto'] ??= 'http';
  const query: Record<string, string> = Object.create(null) as Record<string, string>;
  for (const [k, v] of new URLSearchParams(target.query)) query[k] = Object.hasOwn(query, k) ? `${query[k]},${v}` : v;
  const now = new Date();
  const text = body.length === 0 || TEXT_TYPES.test(headers['content-type'] ?? 'application/json');
  const host = headers['host'] ?? 'localhost';
  return {
    version: '2.0',
    routeKey: key,
    rawPath: target.path,
    rawQueryString: target.query,
    ...(headers['cookie'] ? { cookies: headers['cookie'].split(/;\s*/) } : {}),
    headers,
    ...(Object.keys(query).length > 0 ? { queryStringParameters: query } : {}),
    ...(params ? { pathParameters: params } : {}),
    ...(body.length > 0 ? { body: text ? body.toString('utf8') : body.toString('base64') } : {}),
    isBase64Encoded: !text,
    requestContext: {
      accountId: '000000000000',
      apiId: 'local',
      authorizer,
      domainName: host,
      domainPrefix: host.split('.')[0] ?? host,
      http: {
        method,
        path: target.path,
        protocol: `HTTP/${req.httpVersion}`,
        sourceIp: req.socket.remoteAddress ?? '127.0.0.1',
        userAgent: headers['user-agent'] ?? '',
      },
      requestId: randomUUID(),
      routeKey: key,
      stage: '$default',
      time: now.toISOString(),
      timeEpoch: now.getTime(),
    },
  };
}

function envelopeError(status: number, reason: string, headers: Record<string, string> = {}): APIGatewayProxyStructuredResultV2 {
  return {
    statusCode: status,
    headers: { 'content-type': 'application/json; charset=utf-8', ...headers },
    body: JSON.stringify({ success: false, reason }),
  };
}

function send(res: ServerResponse, result: APIGatewayProxyStructuredResultV2): void {
  const body = result.body === undefined ? Buffer.alloc(0) : Buffer.from(result.body, result.isBase64Encoded ? 'base64' : 'utf8');
  const headers: Record<string, string | number | string[]> = {};
  for (const [k, v] of Object.entries(result.headers ?? {})) headers[k.toLowerCase()] = String(v);
  if (result.cookies?.length) headers['set-cookie'] = result.cookies;
  headers['content-length'] = body.length;
  res.writeHead(result.statusCode ?? 200, headers);
  res.end(body);
}
