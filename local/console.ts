/**
 * The web console and the OpenAPI description on the gateway's port: static
 * files built in memory at the first request (console/build.ts), as
 * CloudFront serves them from S3 when deployed. No Lambda is invoked.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { buildConsole, type Site } from '../console/build.js';
import { config } from '../functions/core/config.js';

let site: Promise<Site> | undefined;

/** Local sign-in takes a pasted token (npm run token); the deployed stack writes Cognito's settings instead. */
const localConfig = () => ({
  api: '/api/v1',
  auth: { kind: 'token' },
  groupsClaim: config.groupsClaim,
  adminGroup: config.adminGroup,
  userClaim: config.userClaim,
});

/** Path below the site's root for a console URL, or undefined when the request is the API's. */
function sitePath(method: string, pathname: string): string | undefined {
  if (method !== 'GET' && method !== 'HEAD') return undefined;
  if (pathname === '/api/v1/openapi.json') return 'api/v1/openapi.json';
  if (pathname.startsWith('/api/')) return undefined;
  return pathname.endsWith('/') ? `${pathname.slice(1)}index.html` : pathname.slice(1);
}

/** Answers console requests; false for everything else (the API's). */
export async function serveConsole(req: IncomingMessage, res: ServerResponse): Promise<boolean> {
  // Only an origin-form target names a site file; anything else is the API's to refuse (local/gateway.ts).
  const target = req.url ?? '/';
  if (!target.startsWith('/')) return false;
  const path = sitePath(req.method ?? 'GET', target.split('?', 1)[0] ?? '/');
  if (path === undefined) return false;
  if (path === 'reference') {
    res.writeHead(301, { location: '/reference/' }).end();
    return true;
  }
  let file: { contents: Uint8Array; type: string } | undefined;
  if (path === 'config.json') {
    file = { contents: Buffer.from(JSON.stringify(localConfig())), type: 'application/json; charset=utf-8' };
  } else {
    site ??= buildConsole();
    file = (await site).get(path);
  }
  if (!file) return false;
  res.writeHead(200, {
    'content-type': file.type,
    'content-length': file.contents.byteLength,
    'cache-control': 'no-cache',
    'x-content-type-options': 'nosniff',
    'referrer-policy': 'no-referrer',
  });
  res.end(req.method === 'HEAD' ? undefined : file.contents);
  return true;
}
