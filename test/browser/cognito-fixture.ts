/**
 * A stand-in for Cognito's hosted UI and its OAuth 2.0 endpoints, so the
 * console's sign-in (console/src/auth.ts) runs for real without AWS:
 *
 * - GET /oauth2/authorize: checks the request as Cognito does (response_type
 *   code, the app client, its registered callback URL, a PKCE S256 challenge,
 *   a state, the openid scope), shows a sign-in form, then redirects back with
 *   a one-time code and the state;
 * - POST /oauth2/token: `authorization_code` (the code, the client, the same
 *   redirect_uri, and the code_verifier hashed to the challenge) and
 *   `refresh_token`; answers id, access and refresh tokens;
 * - POST /oauth2/revoke: revokes a refresh token;
 * - GET /logout: back to a registered sign-out URL.
 *
 * Tokens are shaped like Cognito's (the access token has `client_id` and no
 * `aud`) and signed with the local stack's key and issuer, so the local
 * gateway accepts them as API Gateway's authorizer accepts Cognito's: the
 * client id is the audience the gateway expects (local/tokens.ts).
 */
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { SignJWT } from 'jose';
import { LOCAL_AUDIENCE, LOCAL_ISSUER, type SigningKeys } from '../../local/tokens.js';

export const CLIENT_ID = LOCAL_AUDIENCE;

export interface ProviderOptions {
  keys: SigningKeys;
  /** The console's address: its callback and sign-out URL. */
  consoleUrl: string;
  /** User name → Cognito groups. */
  users: Record<string, string[]>;
  /** Lifetime of the access token a code buys (a short one makes the console renew it); renewed ones last an hour. */
  codeTokenSeconds: number;
}

export interface Provider {
  /** Base URL, as the console's config.json names Cognito's domain. */
  url: string;
  /** What the provider did, in order: authorize, login, token:authorization_code, token:refresh_token, revoke, logout. */
  events: string[];
  /** Requests it refused, with the reason: a correct client sends none. */
  refused: string[];
  /** Access tokens it issued, in order. */
  accessTokens: string[];
  /** Whether a refresh token was revoked. */
  revoked(refreshToken: string): boolean;
  close(): Promise<void>;
}

interface Pending {
  redirectUri: string;
  state: string;
  challenge: string;
  scope: string;
}

const base64url = (bytes: Buffer): string => bytes.toString('base64url');

async function body(req: IncomingMessage): Promise<URLSearchParams> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
}

const escapeHtml = (s: string): string => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

export async function startProvider(options: ProviderOptions): Promise<Provider> {
  const events: string[] = [];
  const refused: string[] = [];
  const accessTokens: string[] = [];
  const pending = new Map<string, Pending>();
  const codes = new Map<string, Pending & { user: string }>();
  const refreshTokens = new Map<string, { user: string; revoked: boolean }>();
  let url = '';

  async function tokensFor(user: string, seconds: number): Promise<{ access_token: string; id_token: string }> {
    const groups = options.users[user] ?? [];
    const now = Math.floor(Date.now() / 1000);
    const sign = (claims: Record<string, unknown>) =>
      new SignJWT(claims)
        .setProtectedHeader({ alg: 'ES256', kid: 'local' })
        .setIssuer(LOCAL_ISSUER)
        .setSubject(`sub-${user}`)
        .setIssuedAt(now)
        .setExpirationTime(now + seconds)
        .setJti(randomUUID())
        .sign(options.keys.privateKey);
    const access_token = await sign({
      'cognito:groups': groups,
      client_id: CLIENT_ID,
      token_use: 'access',
      scope: 'openid profile email',
      auth_time: now,
      username: user,
    });
    const id_token = await sign({ aud: CLIENT_ID, 'cognito:groups': groups, 'cognito:username': user, token_use: 'id', auth_time: now });
    accessTokens.push(access_token);
    return { access_token, id_token };
  }

  function refuse(res: ServerResponse, status: number, reason: string, json?: { error: string }): void {
    refused.push(reason);
    if (json) {
      res.writeHead(status, { 'content-type': 'application/json', 'access-control-allow-origin': '*' }).end(JSON.stringify(json));
    } else res.writeHead(status, { 'content-type': 'text/plain' }).end(reason);
  }

  async function authorize(q: URLSearchParams, res: ServerResponse): Promise<void> {
    events.push('authorize');
    const problems = [
      q.get('response_type') !== 'code' && 'response_type must be code',
      q.get('client_id') !== CLIENT_ID && 'unknown client_id',
      q.get('redirect_uri') !== options.consoleUrl && `redirect_uri ${q.get('redirect_uri')} is not a callback URL of the client`,
      q.get('code_challenge_method') !== 'S256' && 'code_challenge_method must be S256',
      !/^[A-Za-z0-9_-]{43}$/.test(q.get('code_challenge') ?? '') && 'code_challenge must be a base64url SHA-256',
      !q.get('state') && 'no state',
      !(q.get('scope') ?? '').split(' ').includes('openid') && 'scope lacks openid',
    ].filter((p): p is string => typeof p === 'string');
    if (problems.length > 0) return refuse(res, 400, `authorize: ${problems.join('; ')}`);
    const id = base64url(randomBytes(16));
    pending.set(id, {
      redirectUri: q.get('redirect_uri') ?? '',
      state: q.get('state') ?? '',
      challenge: q.get('code_challenge') ?? '',
      scope: q.get('scope') ?? '',
    });
    res
      .writeHead(200, { 'content-type': 'text/html; charset=utf-8' })
      .end(
        `<!doctype html><html lang="en"><title>Sign in</title><form method="post" action="/login">` +
          `<input type="hidden" name="request" value="${escapeHtml(id)}">` +
          `<label>Username <input name="username" autocomplete="username"></label><button type="submit">Sign in</button></form></html>`,
      );
  }

  async function login(req: IncomingMessage, res: ServerResponse): Promise<void> {
    events.push('login');
    const form = await body(req);
    const request = pending.get(form.get('request') ?? '');
    const user = form.get('username') ?? '';
    if (!request) return refuse(res, 400, 'login: no such authorization request');
    if (!(user in options.users)) return refuse(res, 400, `login: no user ${user}`);
    pending.delete(form.get('request') ?? '');
    const code = randomUUID();
    codes.set(code, { ...request, user });
    const back = new URL(request.redirectUri);
    back.searchParams.set('code', code);
    back.searchParams.set('state', request.state);
    res.writeHead(302, { location: back.toString() }).end();
  }

  async function token(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const form = await body(req);
    const grant = form.get('grant_type');
    events.push(`token:${grant}`);
    if (form.get('client_id') !== CLIENT_ID) return refuse(res, 400, 'token: unknown client_id', { error: 'invalid_client' });
    let answer: Record<string, unknown>;
    if (grant === 'authorization_code') {
      const code = codes.get(form.get('code') ?? '');
      // One use only, as Cognito: a replayed code fails.
      codes.delete(form.get('code') ?? '');
      if (!code) return refuse(res, 400, 'token: unknown or used code', { error: 'invalid_grant' });
      if (form.get('redirect_uri') !== code.redirectUri) return refuse(res, 400, 'token: redirect_uri differs', { error: 'invalid_grant' });
      const verifier = form.get('code_verifier') ?? '';
      if (!/^[A-Za-z0-9._~-]{43,128}$/.test(verifier) || base64url(createHash('sha256').update(verifier).digest()) !== code.challenge) {
        return refuse(res, 400, 'token: code_verifier does not match the challenge', { error: 'invalid_grant' });
      }
      const refresh_token = base64url(randomBytes(32));
      refreshTokens.set(refresh_token, { user: code.user, revoked: false });
      answer = { ...(await tokensFor(code.user, options.codeTokenSeconds)), refresh_token, expires_in: options.codeTokenSeconds };
    } else if (grant === 'refresh_token') {
      const held = refreshTokens.get(form.get('refresh_token') ?? '');
      if (!held || held.revoked) return refuse(res, 400, 'token: unknown or revoked refresh token', { error: 'invalid_grant' });
      // Cognito answers a refresh without a new refresh token.
      answer = { ...(await tokensFor(held.user, 3600)), expires_in: 3600 };
    } else {
      return refuse(res, 400, `token: grant_type ${grant}`, { error: 'unsupported_grant_type' });
    }
    res
      .writeHead(200, { 'content-type': 'application/json', 'access-control-allow-origin': '*', 'cache-control': 'no-store' })
      .end(JSON.stringify({ ...answer, token_type: 'Bearer' }));
  }

  async function revoke(req: IncomingMessage, res: ServerResponse): Promise<void> {
    events.push('revoke');
    const form = await body(req);
    if (form.get('client_id') !== CLIENT_ID) return refuse(res, 400, 'revoke: unknown client_id', { error: 'invalid_client' });
    const held = refreshTokens.get(form.get('token') ?? '');
    if (held) held.revoked = true;
    res.writeHead(200, { 'access-control-allow-origin': '*' }).end();
  }

  function logout(q: URLSearchParams, res: ServerResponse): void {
    events.push('logout');
    const problem =
      q.get('client_id') !== CLIENT_ID
        ? 'logout: unknown client_id'
        : q.get('logout_uri') !== options.consoleUrl
          ? `logout: ${q.get('logout_uri')} is not a sign-out URL of the client`
          : undefined;
    if (problem) refuse(res, 400, problem);
    else res.writeHead(302, { location: options.consoleUrl }).end();
  }

  const server = createServer((req, res) => {
    const target = new URL(req.url ?? '/', url);
    const route = `${req.method} ${target.pathname}`;
    const handle = async (): Promise<void> => {
      if (req.method === 'OPTIONS') {
        res
          .writeHead(204, {
            'access-control-allow-origin': '*',
            'access-control-allow-methods': 'POST',
            'access-control-allow-headers': 'content-type',
          })
          .end();
        return;
      }
      if (route === 'GET /oauth2/authorize') return authorize(target.searchParams, res);
      if (route === 'POST /login') return login(req, res);
      if (route === 'POST /oauth2/token') return token(req, res);
      if (route === 'POST /oauth2/revoke') return revoke(req, res);
      if (route === 'GET /logout') return logout(target.searchParams, res);
      refuse(res, 404, `no route ${route}`);
    };
    handle().catch((error: unknown) => {
      refused.push(`${route}: ${(error as Error).message}`);
      if (!res.headersSent) res.writeHead(500).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url,
    events,
    refused,
    accessTokens,
    revoked: (refreshToken) => refreshTokens.get(refreshToken)?.revoked ?? false,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((error) => (error ? reject(error) : resolve()));
        // The browser keeps connections open; they would hold close() back.
        server.closeAllConnections();
      }),
  };
}
