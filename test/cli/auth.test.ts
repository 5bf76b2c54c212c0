/**
 * Token renewal and retries of the API client, against a fake API and a fake
 * Cognito on a local HTTP server: a 401 renews the token through the token
 * command or the Cognito refresh token and the call is sent again; a token
 * close to its expiry is renewed before it is sent; 503 is retried on
 * idempotent calls after the server's Retry-After, and never on a POST.
 */
import { mkdtemp, readFile, stat, writeFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { Api, retryAfterMs } from '../../cli/api.js';
import { cognitoRefresher, Credentials, commandRefresher, expiresSoon } from '../../cli/auth.js';
import { answerMfa, signIn } from '../../cli/cognito.js';
import { loadSettings, requireConnection } from '../../cli/config.js';
import { Failure, RequestRefused } from '../../cli/errors.js';

type Handler = (req: IncomingMessage, body: string, res: ServerResponse) => void;

let server: Server;
let base: string;
let handler: Handler;
const seen: { method: string; path: string; auth: string | undefined; body: string; target?: string }[] = [];

beforeAll(async () => {
  server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      seen.push({
        method: req.method ?? '',
        path: req.url ?? '',
        auth: req.headers.authorization,
        body,
        ...(typeof req.headers['x-amz-target'] === 'string' ? { target: req.headers['x-amz-target'] } : {}),
      });
      handler(req, body, res);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await new Promise((r) => server.close(r));
});

afterEach(() => {
  seen.length = 0;
  vi.unstubAllEnvs();
});

const json = (res: ServerResponse, status: number, value: unknown, headers: Record<string, string> = {}) => {
  res.writeHead(status, { 'content-type': 'application/json', ...headers });
  res.end(JSON.stringify(value));
};

/** The API: answers only requests bearing `valid`, else 401 as API Gateway does. */
const apiAccepting =
  (valid: string): Handler =>
  (req, _body, res) => {
    if (req.headers.authorization !== `Bearer ${valid}`) return json(res, 401, { message: 'Unauthorized' });
    json(res, 200, { success: true, data: { ok: true } });
  };

/** A JWT-shaped token (unsigned: imgctl only reads the claims). */
const jwt = (claims: Record<string, unknown>): string =>
  `${Buffer.from('{"alg":"none"}').toString('base64url')}.${Buffer.from(JSON.stringify(claims)).toString('base64url')}.sig`;

const now = () => Math.floor(Date.now() / 1000);

describe('token renewal', () => {
  it('renews the token through the token command after a 401 and sends the call again', async () => {
    handler = apiAccepting('fresh-token');
    const api = new Api({
      url: `${base}/api/v1`,
      credentials: new Credentials('stale-token', { refresher: commandRefresher('echo fresh-token') }),
    });
    await expect(api.data('GET', '/images')).resolves.toEqual({ ok: true });
    expect(seen.map((r) => r.auth)).toEqual(['Bearer stale-token', 'Bearer fresh-token']);
  });

  it('sends a write again after a 401 too: the authorizer refused it before anything ran', async () => {
    handler = apiAccepting('fresh-token');
    const api = new Api({
      url: `${base}/api/v1`,
      credentials: new Credentials('stale-token', { refresher: commandRefresher('echo fresh-token') }),
    });
    await api.data('POST', '/images', { body: { name: 'x' } });
    expect(seen.map((r) => [r.method, r.auth])).toEqual([
      ['POST', 'Bearer stale-token'],
      ['POST', 'Bearer fresh-token'],
    ]);
  });

  it('renews once per call: a fresh token that is refused too ends the call with the 401', async () => {
    handler = apiAccepting('nothing-works');
    let runs = 0;
    const credentials = new Credentials('a', { refresher: { name: 'counter', fetch: async () => ({ token: `t${++runs}` }) } });
    const api = new Api({ url: `${base}/api/v1`, credentials });
    const error = await api.data('GET', '/images').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RequestRefused);
    expect((error as RequestRefused).status).toBe(401);
    expect(runs).toBe(1);
  });

  it('without a way to renew, a 401 is the answer', async () => {
    handler = apiAccepting('other');
    const api = new Api({ url: `${base}/api/v1`, credentials: new Credentials('mine') });
    await expect(api.data('GET', '/images')).rejects.toMatchObject({ status: 401 });
    expect(seen).toHaveLength(1);
  });

  it('renews a token within a minute of its expiry before sending it, once for calls in parallel', async () => {
    const dueSoon = jwt({ iat: now() - 3570, exp: now() + 30 });
    const fresh = jwt({ iat: now(), exp: now() + 3600, n: 2 });
    handler = apiAccepting(fresh);
    let runs = 0;
    const fetch = async () => {
      runs++;
      return { token: fresh };
    };
    const credentials = new Credentials(dueSoon, { refresher: { name: 'counter', fetch } });
    const api = new Api({ url: `${base}/api/v1`, credentials });
    await Promise.all([api.data('GET', '/a'), api.data('GET', '/b'), api.data('GET', '/c')]);
    expect(runs).toBe(1);
    expect(seen.every((r) => r.auth === `Bearer ${fresh}`)).toBe(true);
  });

  it('counts "soon" as a quarter of the life of a token that lives less than four minutes', () => {
    const t = 1_000_000;
    const short = jwt({ iat: t, exp: t + 20 });
    expect(expiresSoon(short, t + 10)).toBe(false);
    expect(expiresSoon(short, t + 16)).toBe(true);
    const hour = jwt({ iat: t, exp: t + 3600 });
    expect(expiresSoon(hour, t + 3530)).toBe(false);
    expect(expiresSoon(hour, t + 3545)).toBe(true);
    expect(expiresSoon('not-a-jwt', t)).toBe(false);
  });

  it('reports a token command that fails or prints no token, naming the command', async () => {
    await expect(commandRefresher('exit 3').fetch()).rejects.toThrow(/token command `exit 3` failed \(exit 3\)/);
    await expect(commandRefresher('true').fetch()).rejects.toThrow(/printed nothing/);
    await expect(commandRefresher('echo two words').fetch()).rejects.toThrow(/more than one word/);
    await expect(commandRefresher('echo fine').fetch()).resolves.toEqual({ token: 'fine' });
  });

  it('keeps a token renewed through the saved token command in the config file (mode 600)', async () => {
    const home = await mkdtemp(join(tmpdir(), 'imgctl-auth-'));
    vi.stubEnv('XDG_CONFIG_HOME', home);
    vi.stubEnv('IMGCTL_URL', '');
    vi.stubEnv('IMGCTL_TOKEN', '');
    vi.stubEnv('IMGCTL_TOKEN_COMMAND', '');
    const file = join(home, 'imgctl', 'config.json');
    const { mkdir } = await import('node:fs/promises');
    await mkdir(join(home, 'imgctl'), { recursive: true });
    await writeFile(file, JSON.stringify({ url: base, token: 'stale-token', token_command: 'echo fresh-token' }));
    handler = apiAccepting('fresh-token');
    const api = new Api(requireConnection(await loadSettings({})));
    await api.data('GET', '/images');
    expect(JSON.parse(await readFile(file, 'utf8'))).toEqual({ url: base, token: 'fresh-token', token_command: 'echo fresh-token' });
    expect((await stat(file)).mode & 0o777).toBe(0o600);
  });

  it("does not renew a token given by flag or environment with the file's token command", async () => {
    const home = await mkdtemp(join(tmpdir(), 'imgctl-auth-'));
    vi.stubEnv('XDG_CONFIG_HOME', home);
    vi.stubEnv('IMGCTL_TOKEN_COMMAND', '');
    const { mkdir } = await import('node:fs/promises');
    await mkdir(join(home, 'imgctl'), { recursive: true });
    await writeFile(join(home, 'imgctl', 'config.json'), JSON.stringify({ url: base, token: 'x', token_command: 'echo y' }));
    const settings = await loadSettings({ token: 'given' });
    expect(settings.token?.value).toBe('given');
    expect(settings.tokenCommand).toBeUndefined();
    const both = await loadSettings({ tokenCommand: 'echo z' });
    expect(both.tokenCommand).toEqual({ value: 'echo z', source: 'flag' });
    // The file's token belongs to the file's way of renewing, not to this command.
    expect(both.token).toBeUndefined();
  });
});

describe('Cognito', () => {
  const client = { region: 'eu-west-1', client_id: 'client123' };

  it('refreshes the access token with InitiateAuth REFRESH_TOKEN_AUTH, and keeps a rotated refresh token', async () => {
    vi.stubEnv('AWS_ENDPOINT_URL_COGNITO_IDENTITY_PROVIDER', `${base}/cognito/`);
    handler = (req, body, res) => {
      const b = JSON.parse(body) as { AuthFlow: string; AuthParameters: Record<string, string> };
      if (req.headers['content-type'] !== 'application/x-amz-json-1.1' || b.AuthFlow !== 'REFRESH_TOKEN_AUTH') return json(res, 400, {});
      if (b.AuthParameters['REFRESH_TOKEN'] !== 'refresh-1')
        return json(res, 400, { __type: 'NotAuthorizedException', message: 'Invalid Refresh Token' });
      json(res, 200, {
        AuthenticationResult: { AccessToken: 'access-2', RefreshToken: 'refresh-2', ExpiresIn: 3600, TokenType: 'Bearer' },
      });
    };
    await expect(cognitoRefresher({ ...client, refresh_token: 'refresh-1' }).fetch()).resolves.toEqual({
      token: 'access-2',
      refreshToken: 'refresh-2',
    });
    expect(seen[0]).toMatchObject({ method: 'POST', path: '/cognito/', target: 'AWSCognitoIdentityProviderService.InitiateAuth' });
    expect(JSON.parse(seen[0]?.body ?? '{}')).toEqual({
      ClientId: 'client123',
      AuthFlow: 'REFRESH_TOKEN_AUTH',
      AuthParameters: { REFRESH_TOKEN: 'refresh-1' },
    });
    const refused = await cognitoRefresher({ ...client, refresh_token: 'revoked' })
      .fetch()
      .catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(Failure);
    expect((refused as Error).message).toMatch(/NotAuthorizedException: Invalid Refresh Token; .*run imgctl login again/);
  });

  it('signs in with USER_PASSWORD_AUTH, through an MFA challenge when the user has one', async () => {
    vi.stubEnv('AWS_ENDPOINT_URL_COGNITO_IDENTITY_PROVIDER', `${base}/`);
    handler = (req, body, res) => {
      const b = JSON.parse(body) as Record<string, unknown>;
      if (req.headers['x-amz-target'] === 'AWSCognitoIdentityProviderService.InitiateAuth') {
        const p = b['AuthParameters'] as Record<string, string>;
        if (p['USERNAME'] === 'bob') return json(res, 200, { ChallengeName: 'SOFTWARE_TOKEN_MFA', Session: 's1', ChallengeParameters: {} });
        return json(res, 200, { AuthenticationResult: { AccessToken: `a-${p['USERNAME']}`, RefreshToken: 'r' } });
      }
      const r = b['ChallengeResponses'] as Record<string, string>;
      if (b['Session'] === 's1' && r['SOFTWARE_TOKEN_MFA_CODE'] === '123456') {
        return json(res, 200, { AuthenticationResult: { AccessToken: 'a-bob', RefreshToken: 'r-bob' } });
      }
      json(res, 400, { __type: 'CodeMismatchException', message: 'Invalid code' });
    };
    await expect(signIn(client, 'alice', 'pw')).resolves.toEqual({ accessToken: 'a-alice', refreshToken: 'r' });
    const challenge = await signIn(client, 'bob', 'pw');
    expect(challenge).toEqual({ challenge: 'SOFTWARE_TOKEN_MFA', session: 's1' });
    if (!('challenge' in challenge)) throw new Error('no challenge');
    await expect(answerMfa(client, 'bob', challenge, '123456')).resolves.toEqual({ accessToken: 'a-bob', refreshToken: 'r-bob' });
    await expect(answerMfa(client, 'bob', challenge, '000000')).rejects.toThrow(/CodeMismatchException/);
  });
});

describe('503', () => {
  it('retries a read after the Retry-After the service sends, and not a create', async () => {
    let calls = 0;
    handler = (_req, _body, res) => {
      calls++;
      if (calls % 3 !== 0) return json(res, 503, { success: false, reason: 'busy' }, { 'retry-after': '0' });
      json(res, 200, { success: true, data: 'ok' });
    };
    const api = new Api({ url: base, credentials: new Credentials('t') });
    await expect(api.data('GET', '/images')).resolves.toBe('ok');
    expect(seen).toHaveLength(3);
    seen.length = 0;
    calls = 0;
    await expect(api.data('POST', '/images', { body: {} })).rejects.toMatchObject({ status: 503, reason: 'busy' });
    expect(seen).toHaveLength(1);
  });

  it('reads Retry-After as seconds or an HTTP date, capped at 30 s', () => {
    expect(retryAfterMs('2')).toBe(2000);
    expect(retryAfterMs('0')).toBe(0);
    expect(retryAfterMs('3600')).toBe(30_000);
    const t = Date.parse('2026-01-01T00:00:00Z');
    expect(retryAfterMs('Thu, 01 Jan 2026 00:00:05 GMT', t)).toBe(5000);
    expect(retryAfterMs(null)).toBeUndefined();
    expect(retryAfterMs('soon')).toBeUndefined();
  });
});
