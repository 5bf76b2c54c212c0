/**
 * The local API Gateway: turns each HTTP request into an HTTP API payload 2.0
 * event, verifies the Bearer token as a JWT authorizer would, and calls the
 * same exported handler that Lambda runs. Every route, `$default` included,
 * is behind the authorizer, as on AWS: without a valid token the answer is
 * 401 before any routing; with one, a request that matches no route goes to
 * the `$default` route (the records function), which answers 404 or 405.
 */
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { APIGatewayProxyStructuredResultV2, Context } from 'aws-lambda';
import type { JWTPayload } from 'jose';
import type { ApiEvent } from '../functions/http/api-handler.js';
import { matchRoute, routeKey, type ApiFunction } from '../functions/routes.js';
import { lambdaContext } from './lambda-context.js';
import { verifyToken, type SigningKeys } from './tokens.js';

export type ApiLambda = (event: ApiEvent, context: Context) => Promise<APIGatewayProxyStructuredResultV2>;

export interface GatewayOptions {
  keys: SigningKeys;
  functions: Record<ApiFunction, ApiLambda>;
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
    handle(req, res, options)
      .catch((error: unknown) => {
        // A handler that throws past its middy stack is a 500 on AWS too.
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
  const url = new URL(req.url ?? '/', 'http://localhost');
  const method = (req.method ?? 'GET').toUpperCase();
  const match = matchRoute(method, url.pathname);

  const auth = await authorize(req.headers.authorization, options.keys);
  if ('reason' in auth) {
    send(res, envelopeError(401, auth.reason, { 'www-authenticate': 'Bearer' }));
    return;
  }
  const claims = auth.claims;
  let fn: ApiFunction = 'records';
  let key = '$default';
  let params: Record<string, string> | undefined;
  if (match.kind === 'route') {
    fn = match.route.fn;
    key = routeKey(match.route);
    params = match.params;
  }

  const event = buildEvent(req, url, method, key, body, params, claims);
  const result = await options.functions[fn](event, lambdaContext(`image-service-${fn}`, API_TIMEOUT_MS));
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
    const code = (error as { code?: string }).code;
    const why =
      code === 'ERR_JWT_EXPIRED'
        ? 'the token has expired; get a new one'
        : code === 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED'
          ? 'the token was not signed by this service'
          : code === 'ERR_JWT_CLAIM_VALIDATION_FAILED'
            ? `the token is not for this service (${(error as Error).message})`
            : 'the token is not a valid JWT';
    return { reason: why };
  }
  return { claims: flattenClaims(payload) };
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
  url: URL,
  method: string,
  key: string,
  body: Buffer,
  params: Record<string, string> | undefined,
  claims: Claims | undefined,
): ApiEvent {
  const headers: Record<string, string> = {};
  for (const [k, v] of Object.entries(req.headers)) {
    if (v !== undefined) headers[k] = Array.isArray(v) ? v.join(',') : v;
  }
  const query: Record<string, string> = {};
  for (const [k, v] of url.searchParams) query[k] = k in query ? `${query[k]},${v}` : v;
  const now = new Date();
  const text = body.length === 0 || TEXT_TYPES.test(headers['content-type'] ?? 'application/json');
  const host = headers['host'] ?? 'localhost';
  return {
    version: '2.0',
    routeKey: key,
    rawPath: url.pathname,
    rawQueryString: url.search.replace(/^\?/, ''),
    ...(headers['cookie'] ? { cookies: headers['cookie'].split(/;\s*/) } : {}),
    headers,
    ...(Object.keys(query).length > 0 ? { queryStringParameters: query } : {}),
    ...(params ? { pathParameters: params } : {}),
    ...(body.length > 0 ? { body: text ? body.toString('utf8') : body.toString('base64') } : {}),
    isBase64Encoded: !text,
    requestContext: {
      accountId: '000000000000',
      apiId: 'local',
      ...(claims ? { authorizer: { principalId: '', integrationLatency: 0, jwt: { claims, scopes: [] } } } : {}),
      domainName: host,
      domainPrefix: host.split('.')[0] ?? host,
      http: {
        method,
        path: url.pathname,
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
