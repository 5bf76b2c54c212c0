/**
 * Tokens, roles and capture credentials: the gateway's 401s, the handlers'
 * and the capture authorizer's 403s, on every route.
 */
import { UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { describe, expect, it } from 'vitest';
import { keys } from '../../functions/core/db/schema.js';
import { ROUTES, API_BASE, type Route } from '../../functions/routes.js';
import { call, createImage, stack } from './api.js';
import { captureUpload, startCapture, waitForJob, withCredential } from './capture-client.js';
import { table } from './table.js';
import { makeSquashfs } from '../squashfs.js';

const pathFor = (path: string, capture = 'fedcba9876543210fedcba9876543210'): string =>
  path.replace('{id}', 'auth-test-image').replace('{upload_id}', '0123456789abcdef0123456789abcdef').replace('{capture_id}', capture);

const ROUTE_LIST: readonly Route[] = ROUTES;
const JWT_ROUTES = ROUTE_LIST.filter((r) => r.capture === undefined);
const CAPTURE_ROUTES = ROUTE_LIST.filter((r) => r.capture !== undefined);

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
    it(`answers 401 for ${what} on every JWT route`, async () => {
      for (const route of JWT_ROUTES) {
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
    for (const route of JWT_ROUTES.filter((r) => r.admin)) {
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
    expect(ROUTES.length).toBe(23);
    expect(CAPTURE_ROUTES.map((r) => `${r.method} ${r.path}`)).toEqual([
      'GET /capture/{capture_id}',
      'PUT /capture/{capture_id}/content',
      'GET /capture/{capture_id}/content/upload/{upload_id}',
      'POST /capture/{capture_id}/content/upload/{upload_id}',
      'DELETE /capture/{capture_id}/content/upload/{upload_id}',
    ]);
    expect(ROUTES.every((r) => `${API_BASE}${r.path}`.startsWith('/api/v1/'))).toBe(true);
  });
});

/** Every capture route with the credential's own job in its path: the status of each answer, in route order. */
async function statusesOn(credential: string, routes: readonly Route[] = CAPTURE_ROUTES): Promise<number[]> {
  const job = credential.split('.')[0]!;
  const out: number[] = [];
  for (const route of routes) {
    const res = await call(route.method, pathFor(route.path, job), withCredential(credential, route.method === 'GET' ? {} : { body: {} }));
    out.push(res.status);
  }
  return out;
}

const refusedEverywhere = CAPTURE_ROUTES.map(() => 403);

describe('capture credentials', () => {
  it('capture routes take no JWT, and no header at all is a 401', async () => {
    const { name } = await createImage();
    const job = await startCapture(name);
    for (const route of CAPTURE_ROUTES) {
      const path = pathFor(route.path, job.capture_id);
      const body = route.method === 'GET' ? {} : { body: {} };
      const bearer = await call(route.method, path, { token: stack().tokens.admin, ...body });
      expect(bearer.status, `admin JWT on ${route.method} ${route.path}`).toBe(403);
      const none = await call(route.method, path, { token: null, ...body });
      expect(none.status, `nothing on ${route.method} ${route.path}`).toBe(401);
      expect(none.headers.get('www-authenticate')).toBe('Capture');
    }
  });

  it('a credential opens no JWT route, not even of its own image', async () => {
    const { name } = await createImage();
    const job = await startCapture(name);
    for (const route of JWT_ROUTES) {
      const res = await call(
        route.method,
        pathFor(route.path).replace('auth-test-image', name),
        withCredential(job.credential, route.method === 'GET' ? {} : { body: {} }),
      );
      expect(res.status, `${route.method} ${route.path}`).toBe(401);
    }
    // Nor an unknown path ($default).
    expect((await call('GET', '/nothing-here', withCredential(job.credential))).status).toBe(401);
  });

  it("a credential opens only its own job's routes", async () => {
    const a = await startCapture((await createImage()).name);
    const b = await startCapture((await createImage()).name);
    for (const route of CAPTURE_ROUTES) {
      const res = await call(
        route.method,
        pathFor(route.path, b.capture_id),
        withCredential(a.credential, route.method === 'GET' ? {} : { body: {} }),
      );
      expect(res.status, `${route.method} ${route.path} of another job`).toBe(403);
    }
    // The right job with a wrong secret, and a credential that is not one.
    expect(await statusesOn(`${a.capture_id}.${b.credential.split('.')[1]}`)).toEqual(refusedEverywhere);
    expect((await call('GET', `/capture/${a.capture_id}`, withCredential(a.capture_id))).status).toBe(403);
  });

  it('used up by its completed upload: no more uploads, but the node may still read its verdict', async () => {
    const { name } = await createImage();
    const job = await startCapture(name);
    const session = await captureUpload(job.credential, await makeSquashfs());
    expect((await waitForJob(name, job.capture_id)).state).toBe('ready');
    const reads = CAPTURE_ROUTES.filter((r) => r.capture === 'status');
    const writes = CAPTURE_ROUTES.filter((r) => r.capture === 'upload');
    expect(reads.map((r) => `${r.method} ${r.path}`)).toEqual([
      'GET /capture/{capture_id}',
      'GET /capture/{capture_id}/content/upload/{upload_id}',
    ]);
    for (const route of reads) {
      const path = pathFor(route.path, job.capture_id).replace('0123456789abcdef0123456789abcdef', session.upload_id);
      const res = await call<{ state: string; parts?: unknown[] }>(route.method, path, withCredential(job.credential));
      expect(res.status, route.path).toBe(200);
      expect(res.body.data?.state).toBe('ready');
      expect(res.body.data?.parts).toBeUndefined();
    }
    expect(await statusesOn(job.credential, writes)).toEqual(writes.map(() => 403));
  });

  it('refused everywhere once revoked, or once expired', async () => {
    const { name } = await createImage();
    const revoked = await startCapture(name);
    expect((await call('DELETE', `/image/${name}/capture/${revoked.capture_id}`)).status).toBe(200);
    expect(await statusesOn(revoked.credential)).toEqual(refusedEverywhere);

    const expired = await startCapture(name);
    await table().send(
      new UpdateCommand({
        TableName: stack().tableName,
        Key: keys.capture(expired.capture_id),
        UpdateExpression: 'SET credential_expires = :past',
        ExpressionAttributeValues: { ':past': Math.floor(Date.now() / 1000) - 1 },
      }),
    );
    expect(await statusesOn(expired.credential)).toEqual(refusedEverywhere);
    const listed = await call<{ capture_id: string; state: string; reason?: string }[]>('GET', `/image/${name}/capture`);
    expect(listed.body.data?.find((j) => j.capture_id === expired.capture_id)).toMatchObject({
      state: 'failed',
      reason: 'the credential expired before a capture was uploaded',
    });
  });
});
