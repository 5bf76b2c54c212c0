/**
 * Sign-in. The token lives in sessionStorage: per tab, gone with the tab,
 * never sent by the browser on its own (unlike a cookie) and readable only
 * by this origin's scripts. On AWS, Cognito's hosted UI with the
 * authorization-code flow and PKCE (a public client: no secret in the page).
 */
import type { CognitoAuth, ConsoleConfig } from './config.js';

const TOKEN = 'image-service.token';
const PKCE = 'image-service.pkce';

export interface Session {
  token: string;
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
    token,
    user: String(user),
    admin: list.includes(config.adminGroup),
    expires: typeof claims['exp'] === 'number' ? claims['exp'] : undefined,
  };
}

export function storedSession(config: ConsoleConfig): Session | undefined {
  const token = sessionStorage.getItem(TOKEN);
  if (!token) return undefined;
  try {
    const session = sessionOf(token, config);
    if (session.expires !== undefined && session.expires * 1000 < Date.now()) throw new Error('expired');
    return session;
  } catch {
    sessionStorage.removeItem(TOKEN);
    return undefined;
  }
}

export function keepToken(token: string): void {
  sessionStorage.setItem(TOKEN, token);
}

export function signOut(config: ConsoleConfig): void {
  sessionStorage.removeItem(TOKEN);
  if (config.auth.kind === 'cognito') {
    const url = new URL('/logout', config.auth.domain);
    url.searchParams.set('client_id', config.auth.clientId);
    url.searchParams.set('logout_uri', redirectUri());
    location.assign(url.toString());
  }
}

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
export async function finishCognitoSignIn(auth: CognitoAuth): Promise<string | undefined> {
  const params = new URLSearchParams(location.search);
  const code = params.get('code');
  if (!code) return undefined;
  history.replaceState(null, '', redirectUri() + location.hash);
  const saved = JSON.parse(sessionStorage.getItem(PKCE) ?? '{}') as { verifier?: string; state?: string };
  sessionStorage.removeItem(PKCE);
  if (!saved.verifier || saved.state !== params.get('state'))
    throw new Error('the sign-in answer does not match the request; sign in again');
  const res = await fetch(new URL('/oauth2/token', auth.domain), {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({
      grant_type: 'authorization_code',
      client_id: auth.clientId,
      code,
      redirect_uri: redirectUri(),
      code_verifier: saved.verifier,
    }),
  });
  const body = (await res.json()) as { id_token?: string; error?: string };
  if (!res.ok || !body.id_token) throw new Error(`sign-in failed: ${body.error ?? res.status}`);
  // The ID token carries the user name and groups the API reads.
  return body.id_token;
}
