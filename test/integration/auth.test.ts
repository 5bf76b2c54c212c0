/** Tokens and roles: the gateway's 401s and the handlers' 403s, on every route. */
import { describe, expect, it } from 'vitest';
import { ROUTES, API_BASE } from '../../functions/routes.js';
import { call, createImage, stack } from './api.js';

const pathFor = (path: string): string =>
  path.replace('{id}', 'auth-test-image').replace('{upload_id}', '0123456789abcdef0123456789abcdef');

describe('authentication', () => {
  const badTokens: [string, () => Record<string, string>, RegExp][] = [
    ['no token', () => ({}), /a token is required/],
    ['a non-Bearer header', () => ({ authorization: 'Basic YWRtaW46YWRtaW4=' }), /must be "Bearer <token>"/],
    ['a malformed token', () => ({ authorization: 'Bearer not.a.jwt' }), /not a valid JWT/],
    ['an expired token', () => ({ authorization: `Bearer ${stack().tokens.expired}` }), /expired/],
    [
      'a token with a forged signature',
      () => {
        const [h, p] = stack().tokens.reader.split('.');
        const claims = JSON.parse(Buffer.from(p!, 'base64url').toString()) as Record<string, unknown>;
        claims['cognito:groups'] = ['admins'];
        const forged = Buffer.from(JSON.stringify(claims)).toString('base64url');
        const sig = stack().tokens.admin.split('.')[2];
        return { authorization: `Bearer ${h}.${forged}.${sig}` };
      },
      /not signed by this service/,
    ],
  ];

  for (const [what, headers, reason] of badTokens) {
    it(`answers 401 for ${what} on every route`, async () => {
      for (const route of ROUTES) {
        const body = route.method === 'GET' ? {} : { body: {} };
        const res = await call(route.method, pathFor(route.path), { token: null, headers: headers(), ...body });
        expect(res.status, `${route.method} ${route.path}`).toBe(401);
        expect(res.body.success).toBe(false);
        expect(res.body.reason).toMatch(reason);
        expect(res.headers.get('www-authenticate')).toBe('Bearer');
      }
    });
  }
});

describe('roles', () => {
  it('refuses every write route to a reader with 403, and lets the reader read', async () => {
    const { name } = await createImage();
    for (const route of ROUTES.filter((r) => r.admin)) {
      const res = await call(route.method, pathFor(route.path).replace('auth-test-image', name), {
        token: stack().tokens.reader,
        ...(route.method === 'GET' ? {} : { body: { name: 'whatever' } }),
      });
      expect(res.status, `${route.method} ${route.path}`).toBe(403);
      expect(res.body.reason).toBe(`${route.method} ${route.path} needs the admin role; "reader1" is not in "admins"`);
    }
    const read = await call('GET', `/image/${name}`, { token: stack().tokens.reader });
    expect(read.status).toBe(200);
    expect((await call('GET', '/images?limit=1', { token: stack().tokens.reader })).status).toBe(200);
    // Nothing the reader tried took effect.
    expect((await call<{ name: string }>('GET', `/image/${name}`)).body.data?.name).toBe(name);
  });

  it('records the token’s user as last_modified_by', async () => {
    const { uid } = await createImage();
    const res = await call<{ last_modified_by: string }>('PATCH', `/image/${uid}`, {
      token: stack().tokens.admin2,
      body: { distro: 'x' },
    });
    expect(res.body.data?.last_modified_by).toBe('admin2');
  });

  it('covers every route of the table', () => {
    expect(ROUTES.length).toBe(15);
    expect(ROUTES.every((r) => `${API_BASE}${r.path}`.startsWith('/api/v1/'))).toBe(true);
  });
});
