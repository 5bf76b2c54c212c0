/**
 * Sign-in. Tokens live in sessionStorage: per tab, gone with the tab, never
 * sent by the browser on its own (unlike a cookie) and readable only by this
 * origin's scripts. On AWS, Cognito's hosted UI with the authorization-code
 * flow and PKCE (a public client: no secret in the page). The API gets the
 * access token, the token meant for resource servers: it carries `username`
 * and `cognito:groups`, and API Gateway matches its `client_id` against the
 * authorizer's audience (docs/deploy.md). Shortly before it expires, the
 * refresh token gets a new one; signing out revokes the refresh token and
 * ends the hosted UI's session (/logout).
 */
import type { CognitoAuth, ConsoleConfig } from './config.js';

const TOKEN = 'image-service.token';
const REFRESH = 'image-service.refresh';
const PKCE = 'image-service.pkce';
/** Renewed this long before it expires, so that no call carries a token that lapses on its way. */
const RENEW_MARGIN_S = 60;

export interface Session {
  user: string;
  admin: boolean;
  expires: number | undefined;
}

export function claimsOf(token: string): Record<string, unknown> {
  const part = token.split('.')[1];
  if (!part) throw new Error('this is not a JWT (it has no payload part)');
  const json = atob(
    part
      .replace(/-/g, '+')
      .replace(/_/g, '/')
      .padEnd(Math.ceil(part.length / 4) * 4, '='),
  );
  const claims: unknown = JSON.parse(new TextDecoder().decode(Uint8Array.from(json, (c) => c.charCodeAt(0))));
  if (typeof claims !== 'object' || claims === null) throw new Error('the token has no claims');
  return claims as Record<string, unknown>;
}

/** What the console shows; the API decides what is allowed from the same claims. */
export function sessionOf(token: string, config: ConsoleConfig): Session {
  const claims = claimsOf(token);
  const groups = claims[config.groupsClaim];
  const list = Array.isArray(groups) ? groups.map(String) : typeof groups === 'string' ? groups.split(/[\s,]+/) : [];
  const user = claims[config.userClaim] ?? claims['cognito:username'] ?? claims['sub'] ?? '?';
  return {
    user: String(user),
    admin: list.includes(config.adminGroup),
    expires: typeof claims['exp'] === 'number' ? claims['exp'] : undefined,
  };
}

/** What the console keeps after a sign-in. */
export interface Tokens {
  token: string;
  /** Cognito only: trades for a new access token at the token endpoint. */
  refresh?: string;
}

export function keepTokens(tokens: Tokens): void {
  sessionStorage.setItem(TOKEN, tokens.token);
  if (tokens.refresh) sessionStorage.setItem(REFRESH, tokens.refresh);
  else sessionStorage.removeItem(REFRESH);
}

export function forgetTokens(): void {
  for (const key of [TOKEN, REFRESH, PKCE]) sessionStorage.removeItem(key);
}

/** The signed-in session of this tab; an expired token still counts while a refresh token can renew it. */
export function storedSession(config: ConsoleConfig): Session | undefined {
  const token = sessionStorage.getItem(TOKEN);
  if (!token) return undefined;
  try {
    const session = sessionOf(token, config);
    const renewable = refreshOf(config) !== undefined;
    if (!renewable && session.expires !== undefined && session.expires * 1000 < Date.now()) throw new Error('expired');
    return session;
  } catch {
    forgetTokens();
    return undefined;
  }
}

/** The refresh token kept for this tab: Cognito only. */
const refreshOf = (config: ConsoleConfig): string | undefined =>
  config.auth.kind === 'cognito' ? (sessionStorage.getItem(REFRESH) ?? undefined) : undefined;

/** A renewal under way: parallel calls (upload parts) share it rather than spend the refresh token several times. */
let renewing: Promise<string> | undefined;

/** The token for the next API call, renewed first when it is about to expire and a refresh token is kept. */
export async function currentToken(config: ConsoleConfig): Promise<string> {
  const token = sessionStorage.getItem(TOKEN);
  if (!token) throw new Error('signed out in another window; sign in again');
  const refresh = refreshOf(config);
  if (config.auth.kind !== 'cognito' || refresh === undefined) return token;
  // Only the expiry matters here: this runs before every call, upload parts included.
  const expires = claimsOf(token)['exp'];
  if (typeof expires !== 'number' || expires - RENEW_MARGIN_S > Date.now() / 1000) return token;
  const auth = config.auth;
  renewing ??= renew(auth, refresh).finally(() => {
    renewing = undefined;
  });
  return renewing;
}

async function renew(auth: CognitoAuth, refresh: string): Promise<string> {
  const tokens = await tokenRequest(auth, { grant_type: 'refresh_token', client_id: auth.clientId, refresh_token: refresh }).catch(
    (error: Error) => {
      forgetTokens();
      throw new Error(`the session has ended (${error.message}); sign in again`);
    },
  );
  // Cognito keeps the refresh token as it is; a provider that rotates it sends the new one.
  keepTokens({ refresh, ...tokens });
  return tokens.token;
}

/** A form POST to one of the hosted UI's OAuth 2.0 endpoints. */
const postForm = (auth: CognitoAuth, path: string, form: Record<string, string>): Promise<Response> =>
  fetch(new URL(path, auth.domain), {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams(form),
  });

async function tokenRequest(auth: CognitoAuth, form: Record<string, string>): Promise<Tokens> {
  const res = await postForm(auth, '/oauth2/token', form);
  const body = (await res.json().catch(() => ({}))) as {
    access_token?: unknown;
    refresh_token?: unknown;
    error?: string;
    error_description?: string;
  };
  if (!res.ok || typeof body.access_token !== 'string') {
    throw new Error(body.error_description ?? body.error ?? `the token endpoint answered ${res.status}`);
  }
  return { token: body.access_token, ...(typeof body.refresh_token === 'string' ? { refresh: body.refresh_token } : {}) };
}

/** Forgets the tokens; with Cognito, also revokes the refresh token and leaves through the hosted UI's /logout. */
export async function signOut(config: ConsoleConfig): Promise<void> {
  const refresh = refreshOf(config);
  forgetTokens();
  if (config.auth.kind !== 'cognito') return;
  const auth = config.auth;
  if (refresh) {
    // Revoked, it mints no more access tokens even if a copy of it survives (the app client enables revocation).
    await postForm(auth, '/oauth2/revoke', { token: refresh, client_id: auth.clientId }).catch(() => undefined);
  }
  const url = new URL('/logout', auth.domain);
  url.searchParams.set('client_id', auth.clientId);
  url.searchParams.set('logout_uri', redirectUri());
  location.assign(url.toString());
}

/** The console's own address: the callback and sign-out URL registered with the app client. */
const redirectUri = (): string => new URL('./', location.href).toString().replace(/[?#].*$/, '');

const base64url = (bytes: Uint8Array): string =>
  btoa(String.fromCharCode(...bytes))
    .replace(/\+/g, '-')
    .replace(/\//g, '_')
    .replace(/=+$/, '');

/** Sends the browser to the hosted UI, keeping the PKCE verifier and state for the way back. */
export async function startCognitoSignIn(auth: CognitoAuth): Promise<void> {
  const verifier = base64url(crypto.getRandomValues(new Uint8Array(32)));
  const state = base64url(crypto.getRandomValues(new Uint8Array(16)));
  const challenge = base64url(new Uint8Array(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(verifier))));
  sessionStorage.setItem(PKCE, JSON.stringify({ verifier, state }));
  const url = new URL('/oauth2/authorize', auth.domain);
  url.search = new URLSearchParams({
    response_type: 'code',
    client_id: auth.clientId,
    redirect_uri: redirectUri(),
    scope: auth.scopes.join(' '),
    state,
    code_challenge_method: 'S256',
    code_challenge: challenge,
  }).toString();
  location.assign(url.toString());
}

/** On the way back from the hosted UI: trades `?code=` for tokens. Undefined when this is no such return. */
export async function finishCognitoSignIn(auth: CognitoAuth): Promise<Tokens | undefined> {
  const params = new URLSearchParams(location.search);
  const code = params.get('code');
  const error = params.get('error');
  if (!code && !error) return undefined;
  history.replaceState(null, '', redirectUri() + location.hash);
  const saved = JSON.parse(sessionStorage.getItem(PKCE) ?? '{}') as { verifier?: string; state?: string };
  sessionStorage.removeItem(PKCE);
  if (error) throw new Error(`sign-in failed: ${params.get('error_description') ?? error}`);
  if (!code || !saved.verifier || saved.state !== params.get('state'))
    throw new Error('the sign-in answer does not match the request; sign in again');
  return tokenRequest(auth, {
    grant_type: 'authorization_code',
    client_id: auth.clientId,
    code,
    redirect_uri: redirectUri(),
    code_verifier: saved.verifier,
  }).catch((e: Error) => {
    throw new Error(`sign-in failed: ${e.message}`);
  });
}
