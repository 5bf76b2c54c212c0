/**
 * The local gateway keeps API Gateway's edge: request targets taken as sent
 * (never resolved as URLs), tokens checked as the JWT authorizer checks them,
 * and query parameters refused by name whatever the name.
 */
import { request } from 'node:http';
import { SignJWT, type JWTPayload } from 'jose';
import { describe, expect, it } from 'vitest';
import { LOCAL_AUDIENCE, LOCAL_ISSUER, loadKeys } from '../../local/tokens.js';
import { call, createImage, stack } from './api.js';

/** One request with the target exactly as given (fetch would normalise it). */
function rawRequest(method: string, target: string, token: string | null = stack().tokens.admin) {
  const api = new URL(stack().apiUrl);
  return new Promise<{ status: number; body: unknown }>((resolve, reject) => {
    const req = request(
      { host: api.hostname, port: api.port, method, path: target, headers: token ? { authorization: `Bearer ${token}` } : {} },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let body: unknown;
          try {
            body = JSON.parse(text);
          } catch {
            body = text;
          }
          resolve({ status: res.statusCode ?? 0, body });
        });
      },
    );
    req.on('error', reject);
    req.end();
  });
}

const envelope = { success: false, reason: expect.any(String) as string };

describe('request targets', () => {
  it.each([
    ['//%/api/v1/images', 404],
    ['//host/api/v1/images', 404],
    ['//host/api/v1/images?limit=1', 404],
    ['/api/v1/../v1/images', 404],
    ['/%2e%2e/api/v1/images', 404],
    ['http://other.example/api/v1/images', 400],
    ['http://[::1/api/v1/images', 400],
    ['*', 400],
  ])('%s gets an envelope %i, not another path’s answer', async (target, status) => {
    const res = await rawRequest('GET', target);
    expect(res).toEqual({ status, body: envelope });
  });

  it('the plain path still answers', async () => {
    expect((await rawRequest('GET', '/api/v1/images?limit=1')).status).toBe(200);
  });
});

describe('tokens, as the JWT authorizer checks them', () => {
  async function signed(claims: JWTPayload, shape: (jwt: SignJWT) => SignJWT): Promise<string> {
    const keys = await loadKeys(stack().dataDir);
    const jwt = new SignJWT({ username: 'admin1', 'cognito:groups': ['admins'], ...claims })
      .setProtectedHeader({ alg: 'ES256', typ: 'JWT' })
      .setIssuer(LOCAL_ISSUER)
      .setAudience(LOCAL_AUDIENCE);
    return shape(jwt).sign(keys.privateKey);
  }
  const now = () => Math.floor(Date.now() / 1000);

  it.each<[string, () => Promise<string>, RegExp]>([
    ['no exp', () => signed({}, (j) => j.setIssuedAt()), /no "exp" claim/],
    ['no iat', () => signed({}, (j) => j.setExpirationTime('1h')), /no "iat" claim/],
    ['an iat in the future', () => signed({}, (j) => j.setIssuedAt(now() + 600).setExpirationTime('2h')), /issued in the future/],
    [
      'an nbf in the future',
      () =>
        signed({}, (j) =>
          j
            .setIssuedAt()
            .setNotBefore(now() + 600)
            .setExpirationTime('2h'),
        ),
      /not valid yet/,
    ],
  ])('refuses a token with %s: 401 in the envelope', async (_, token, reason) => {
    const res = await call('GET', '/images', { token: await token() });
    expect(res.status).toBe(401);
    expect(res.headers.get('www-authenticate')).toBe('Bearer');
    expect(res.body).toEqual({ success: false, reason: expect.stringMatching(reason) as string });
  });

  it('accepts a well-formed one', async () => {
    const token = await signed({}, (j) => j.setIssuedAt().setExpirationTime('1h'));
    expect((await call('GET', '/images?limit=1', { token })).status).toBe(200);
  });
});

describe('query parameters', () => {
  it.each(['__proto__', 'constructor', 'toString', 'hasOwnProperty', 'colour'])('?%s=x is refused by name', async (name) => {
    const { uid } = await createImage();
    for (const path of ['/images', `/image/${uid}/content`]) {
      const res = await call('GET', `${path}?${name}=x`);
      expect(res.status, path).toBe(400);
      expect(res.body).toEqual({ success: false, reason: `invalid query: Unrecognized key: "${name}"` });
    }
  });
});
