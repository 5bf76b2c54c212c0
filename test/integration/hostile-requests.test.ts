/**
 * Property-based: generated malformed and hostile requests at every route.
 * Each request carries at least one defect (a bad token, a reader on an admin
 * route, an unknown or bad query parameter, an image or upload that is not
 * there, a bad body, a bad or stale If-Match); everything else about it is
 * valid, so the defect alone must be refused. Every answer must be a 4xx in
 * the envelope, and afterwards the records these requests could reach must
 * be exactly as before.
 *
 * Runs are bounded (HOSTILE_RUNS, default 120) to keep `npm test` short; a
 * failure prints fast-check's seed and the shrunk request to replay it.
 */
import { request } from 'node:http';
import fc from 'fast-check';
import { generateKeyPair, SignJWT } from 'jose';
import { beforeAll, describe, expect, it } from 'vitest';
import { API_BASE, matchRoute, ROUTES, type Route } from '../../functions/routes.js';
import { issueToken, LOCAL_AUDIENCE, LOCAL_ISSUER, loadKeys } from '../../local/tokens.js';
import { call, createImage, stack, uniqueName } from './api.js';
import { scanAll, type Item } from './table.js';

const RUNS = Number(process.env['HOSTILE_RUNS'] ?? 120);
const MIB = 1024 * 1024;

interface Fixture {
  /** A plain image. */
  plain: { uid: string; name: string };
  /** An image with an open upload session. */
  uploading: { uid: string; name: string; uploadId: string };
  prefix: string;
  user: string;
  tokens: { admin: string; reader: string; hostile: Record<string, string | undefined> };
}

let fx: Fixture;

async function fixture(): Promise<Fixture> {
  const prefix = uniqueName('hostile');
  const plain = await createImage({ name: `${prefix}-plain`, description: 'kept as is' });
  const uploading = await createImage({ name: `${prefix}-uploading` });
  const session = await call<{ upload_id: string }>('PUT', `/image/${uploading.uid}/content`, { body: { size: 1024 } });
  if (session.status !== 201 || !session.body.data) throw new Error(`upload start failed: ${session.text}`);

  // The hostile admin is a user of its own: anything it managed to write would carry its name.
  const keys = await loadKeys(stack().dataDir);
  const user = `${prefix}-user`;
  const admin = await issueToken(keys, { user, admin: true, ttl: '1h' });
  const now = Math.floor(Date.now() / 1000);
  const claims = { username: user, 'cognito:groups': ['admins'] };
  const sign = (shape: (jwt: SignJWT) => SignJWT, key = keys.privateKey) =>
    shape(new SignJWT(claims).setProtectedHeader({ alg: 'ES256', typ: 'JWT' })).sign(key);
  const valid = (jwt: SignJWT) => jwt.setIssuer(LOCAL_ISSUER).setAudience(LOCAL_AUDIENCE).setIssuedAt();
  const other = await generateKeyPair('ES256');
  const [header, payload] = stack().tokens.reader.split('.') as [string, string];
  const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');
  const readerClaims = JSON.parse(Buffer.from(payload, 'base64url').toString()) as Record<string, unknown>;

  const hostile: Record<string, string | undefined> = {
    none: undefined,
    basic: 'Basic YWRtaW46YWRtaW4=',
    empty: 'Bearer ',
    garbage: 'Bearer not.a.jwt',
    expired: `Bearer ${await issueToken(keys, { user, admin: true, ttl: '-1s' })}`,
    noExp: `Bearer ${await sign((j) => valid(j))}`,
    noIat: `Bearer ${await sign((j) => j.setIssuer(LOCAL_ISSUER).setAudience(LOCAL_AUDIENCE).setExpirationTime('1h'))}`,
    futureIat: `Bearer ${await sign((j) =>
      valid(j)
        .setIssuedAt(now + 3600)
        .setExpirationTime('2h'),
    )}`,
    notYet: `Bearer ${await sign((j) =>
      valid(j)
        .setNotBefore(now + 3600)
        .setExpirationTime('2h'),
    )}`,
    otherIssuer: `Bearer ${await sign((j) => valid(j).setIssuer('https://evil.example').setExpirationTime('1h'))}`,
    otherAudience: `Bearer ${await sign((j) => valid(j).setAudience('another-api').setExpirationTime('1h'))}`,
    otherKey: `Bearer ${await sign((j) => valid(j).setExpirationTime('1h'), other.privateKey)}`,
    algNone: `Bearer ${b64({ alg: 'none', typ: 'JWT' })}.${b64({ ...claims, iss: LOCAL_ISSUER, aud: LOCAL_AUDIENCE, iat: now, exp: now + 3600 })}.`,
    grafted: `Bearer ${header}.${b64({ ...readerClaims, 'cognito:groups': ['admins'] })}.${stack().tokens.admin.split('.')[2]}`,
  };
  return {
    plain,
    uploading: { ...uploading, uploadId: session.body.data.upload_id },
    prefix,
    user,
    tokens: { admin, reader: stack().tokens.reader, hostile },
  };
}

/* Generators */

type Defect = 'token' | 'reader' | 'query' | 'id' | 'upload' | 'body' | 'ifmatch';

const IF_MATCH_ROUTES = new Set([
  'PATCH /image/{id}',
  'PUT /image/{id}',
  'DELETE /image/{id}',
  'POST /image/{id}/clone',
  'PUT /image/{id}/content',
  'DELETE /image/{id}/content',
]);
const QUERY_KEYS: Record<string, readonly string[]> = {
  'GET /images': ['limit', 'next', 'name', 'parent', 'distro'],
  'GET /image/{id}/content': ['redirect', 'parts'],
};
const BODY_FIELDS: Record<string, readonly string[]> = {
  'POST /images': ['name', 'description', 'frozen', 'parent', 'distro'],
  'PATCH /image/{id}': ['name', 'description', 'frozen', 'parent', 'distro'],
  'PUT /image/{id}': ['name', 'description', 'frozen', 'parent', 'distro'],
  'POST /image/{id}/clone': ['name', 'description'],
  'PUT /image/{id}/content': ['size', 'sha1', 'part_size', 'fmt'],
  'POST /image/{id}/content/upload/{upload_id}': ['parts', 'sha1'],
};
const keyOf = (route: Route) => `${route.method} ${route.path}`;

function defectsOf(route: Route): Defect[] {
  const key = keyOf(route);
  const out: Defect[] = ['token', 'query'];
  if (route.admin) out.push('reader');
  if (route.path.includes('{id}')) out.push('id');
  if (route.path.includes('{upload_id}')) out.push('upload');
  if (BODY_FIELDS[key]) out.push('body');
  if (IF_MATCH_ROUTES.has(key)) out.push('ifmatch');
  return out;
}

const text = (min: number, max: number) => fc.string({ unit: 'binary', minLength: min, maxLength: max });
const notString = fc.oneof(fc.integer(), fc.double(), fc.boolean(), fc.array(fc.integer(), { maxLength: 2 }), fc.constant({ a: 1 }));
const notStringOrNull = fc.oneof(notString, fc.constant(null));
const tooLong = (max: number) => fc.nat({ max: 50 }).map((extra) => 'x'.repeat(max + 1 + extra));
const control = fc.constantFrom('\u0000', '\u001b[2J', '\u007f', '\ud800', 'a\u0085b');
const missingUid = fc.uint8Array({ minLength: 16, maxLength: 16 }).map((b) => Buffer.from(b).toString('hex'));
const notAName = fc.oneof(
  fc.constant(''),
  tooLong(128).map((s) => `a${s}`),
  text(1, 20).filter((s) => !/^[A-Za-z][A-Za-z0-9._-]*$/.test(s)),
  missingUid,
);

/** A value that field `f` must refuse, whichever route it is sent to. */
function badValue(f: string): fc.Arbitrary<unknown> {
  switch (f) {
    case 'name':
      return fc.oneof(notStringOrNull, notAName);
    case 'description':
      return fc.oneof(notString, fc.constant(''), tooLong(4096), control);
    case 'distro':
      return fc.oneof(notString, fc.constant(''), tooLong(256), control);
    case 'parent':
      return fc.oneof(notString, fc.constant(''), tooLong(128), missingUid);
    case 'frozen':
      return fc.oneof(fc.integer(), fc.string(), fc.constant(null), fc.constant([]));
    case 'size':
      return fc.oneof(
        fc.integer({ max: 0 }),
        fc.double({ min: 0.1, max: 1e6, noInteger: true }),
        fc.string(),
        fc.constant(null),
        fc.constant(2 ** 43),
      );
    case 'sha1':
      return fc.oneof(
        notStringOrNull,
        text(0, 60).filter((s) => !/^(sha1:)?[0-9a-fA-F]{40}$/.test(s)),
      );
    case 'part_size':
      return fc.oneof(fc.integer({ min: -10, max: 5 * MIB - 1 }), fc.constant(6 * 1024 * MIB), fc.string());
    case 'fmt':
      return fc.oneof(
        notStringOrNull,
        text(0, 40).filter((s) => !/^[a-z0-9][a-z0-9_-]{0,31}$/.test(s)),
        fc.constantFrom('last_modified', 'last_modified_by'),
      );
    case 'parts':
      return fc.oneof(
        notStringOrNull,
        fc.constant([]),
        fc.constant([{ part_number: 1 }]),
        fc
          .record({
            part_number: fc.oneof(fc.integer({ max: 0 }), fc.integer({ min: 10_001 }), fc.double({ noInteger: true })),
            etag: fc.constant('"e"'),
          })
          .map((p) => [p]),
        fc.record({ part_number: fc.constant(1), etag: fc.oneof(notStringOrNull, fc.constant(''), tooLong(256)) }).map((p) => [p]),
        fc.constant([{ part_number: 1, etag: '"e"', size: 5 }]),
        fc.constant([{ part_number: 2, etag: '"e"' }]),
      );
    default:
      throw new Error(`no bad value for ${f}`);
  }
}

function validBody(key: string, n: number): Record<string, unknown> {
  switch (key) {
    case 'POST /images':
      return { name: `${fx.prefix}-new-${n}` };
    case 'PATCH /image/{id}':
      return { description: 'changed' };
    case 'PUT /image/{id}':
      return { name: fx.plain.name, description: 'replaced' };
    case 'POST /image/{id}/clone':
      return { name: `${fx.prefix}-clone-${n}` };
    case 'PUT /image/{id}/content':
      return { size: 2048 };
    default:
      return { parts: [{ part_number: 1, etag: '"e"' }] };
  }
}

const badBody = (key: string, n: number): fc.Arbitrary<string> => {
  const valid = validBody(key, n);
  const fields = BODY_FIELDS[key]!;
  const withField = (k: string, v: unknown) => `${JSON.stringify(valid).slice(0, -1)},${JSON.stringify(k)}:${JSON.stringify(v)}}`;
  return fc.oneof(
    fc.constant(''),
    text(0, 30)
      .map((s) => `{${s}`)
      .filter((s) => !isObjectJson(s)),
    fc
      .jsonValue({ maxDepth: 2 })
      .filter((v) => typeof v !== 'object' || v === null || Array.isArray(v))
      .map((v) => JSON.stringify(v)),
    fc
      .tuple(
        fc.oneof(fc.constantFrom('__proto__', 'constructor', 'prototype', 'uid', 'content', 'version', 'refcnt'), text(1, 12)),
        fc.jsonValue({ maxDepth: 1 }),
      )
      .filter(([k]) => !fields.includes(k) && !Object.hasOwn(valid, k))
      .map(([k, v]) => withField(k, v)),
    fc.constantFrom(...fields).chain((f) => badValue(f).map((v) => JSON.stringify({ ...valid, [f]: v }))),
    { arbitrary: fc.constant(JSON.stringify({ ...valid, description: 'd'.repeat(MIB) })), weight: 1 },
  );
};

function isObjectJson(s: string): boolean {
  try {
    const v: unknown = JSON.parse(s);
    return typeof v === 'object' && v !== null && !Array.isArray(v);
  } catch {
    return false;
  }
}

const badQuery = (key: string): fc.Arbitrary<[string, string]> => {
  const allowed = QUERY_KEYS[key] ?? [];
  const unknown = fc
    .tuple(
      fc.oneof(fc.constantFrom('__proto__', 'constructor', 'toString', 'hasOwnProperty', 'valueOf', 'LIMIT', 'colour'), text(1, 12)),
      text(0, 12),
    )
    .filter(([k]) => !allowed.includes(k));
  const badKnown: Record<string, fc.Arbitrary<[string, string]>> = {
    'GET /images': fc.oneof(
      fc.constantFrom('0', '1001', '-1', '1e2', '0x10', '', ' 5', '1.5').map((v): [string, string] => ['limit', v]),
      fc.constantFrom('', 'garbage', 'eyJwayI6MX0', 'a,b').map((v): [string, string] => ['next', v]),
    ),
    'GET /image/{id}/content': fc.oneof(
      fc.constantFrom('', 'yes', 'TRUE', '0', 'no').map((v): [string, string] => ['redirect', v]),
      fc.constantFrom('0', '1001', '-2', 'x', '').map((v): [string, string] => ['parts', v]),
    ),
  };
  return badKnown[key] ? fc.oneof(unknown, badKnown[key]) : unknown;
};

interface HostileRequest {
  defects: Defect[];
  method: string;
  path: string;
  query: [string, string][];
  headers: Record<string, string>;
  body?: string;
}

const enc = encodeURIComponent;

function routeRequest(route: Route): fc.Arbitrary<HostileRequest> {
  const key = keyOf(route);
  const uploadRoute = route.path.includes('{upload_id}');
  const own = uploadRoute ? fx.uploading : fx.plain;
  return fc
    .record({
      defects: fc.subarray(defectsOf(route), { minLength: 1 }),
      n: fc.nat(),
      byName: fc.boolean(),
    })
    .chain(({ defects, n, byName }) =>
      fc
        .record({
          token: defects.includes('token')
            ? fc.constantFrom(...Object.keys(fx.tokens.hostile)).map((k) => fx.tokens.hostile[k])
            : fc.constant(`Bearer ${defects.includes('reader') ? fx.tokens.reader : fx.tokens.admin}`),
          query: defects.includes('query') ? badQuery(key).map((q) => [q]) : fc.constant<[string, string][]>([]),
          id: defects.includes('id')
            ? fc.oneof(
                notAName.filter((s) => s !== ''),
                fc.constantFrom('%', '%zz', '..', '.', '%2e%2e', '%00', 'a%2Fb').map((s) => ({ raw: s })),
                fc.constant(`${fx.prefix}-missing`),
                // The upload exists, but not for this image.
                ...(uploadRoute ? [fc.constant(fx.plain.uid)] : []),
              )
            : fc.constant(byName ? own.name : own.uid),
          upload: defects.includes('upload')
            ? fc.oneof(missingUid, text(1, 40), fc.constant('x'.repeat(2000)))
            : fc.constant(fx.uploading.uploadId),
          body: defects.includes('body') ? badBody(key, n) : fc.constant(BODY_FIELDS[key] ? JSON.stringify(validBody(key, n)) : undefined),
          ifMatch: defects.includes('ifmatch')
            ? fc.oneof(
                fc.constantFrom('"999"', '"0"', 'W/"1"', '"998", "999"'),
                text(1, 20).filter((s) => /^[\x20-\x7e]+$/.test(s) && s.trim() !== '*' && !s.includes('"1"')),
              )
            : fc.constant(undefined),
          contentType: fc.constantFrom('application/json', 'text/plain', 'application/x-www-form-urlencoded', 'application/xml'),
        })
        .map(({ token, query, id, upload, body, ifMatch, contentType }) => {
          const idSegment = typeof id === 'string' ? enc(id) : id.raw;
          const path = `${API_BASE}${route.path.replace('{id}', idSegment).replace('{upload_id}', enc(upload))}`;
          const headers: Record<string, string> = { 'content-type': contentType };
          if (token !== undefined) headers['authorization'] = token;
          if (ifMatch !== undefined) headers['if-match'] = ifMatch;
          return { defects, method: route.method, path, query, headers, ...(body !== undefined ? { body } : {}) };
        }),
    );
}

/** Paths that name no route at all: the `$default` route's 404 or 405. */
const strayRequest: fc.Arbitrary<HostileRequest> = fc
  .record({
    method: fc.constantFrom('GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'),
    segments: fc.array(fc.oneof(fc.constantFrom('image', 'images', 'content', 'upload', 'stat', '..', ''), text(1, 10)), {
      minLength: 1,
      maxLength: 5,
    }),
    authorized: fc.boolean(),
  })
  .map(
    ({ method, segments, authorized }): HostileRequest => ({
      defects: [],
      method,
      path: `${API_BASE}/${segments.map(enc).join('/')}`,
      query: [],
      headers: authorized ? { authorization: `Bearer ${fx.tokens.admin}` } : ({} as Record<string, string>),
    }),
  )
  .filter((r) => matchRoute(r.method, r.path).kind !== 'route');

function send(r: HostileRequest): Promise<{ status: number; contentType: string | undefined; text: string }> {
  const api = new URL(stack().apiUrl);
  const qs = r.query.map(([k, v]) => `${enc(k)}=${enc(v)}`).join('&');
  return new Promise((resolve, reject) => {
    const req = request(
      { host: api.hostname, port: api.port, method: r.method, path: qs ? `${r.path}?${qs}` : r.path, headers: r.headers },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, contentType: res.headers['content-type'], text: Buffer.concat(chunks).toString('utf8') }),
        );
      },
    );
    req.on('error', reject);
    req.end(r.body);
  });
}

/** Everything these requests could have touched: the fixtures' items, and anything named or written by the hostile user. */
async function reachable(): Promise<Item[]> {
  const marks = [fx.plain.uid, fx.uploading.uid, fx.uploading.uploadId, fx.prefix];
  return (await scanAll())
    .filter((item) => {
      const json = JSON.stringify(item);
      return marks.some((m) => json.includes(m));
    })
    .sort((a, b) => a.pk.localeCompare(b.pk) || String(a['sk'] ?? '').localeCompare(String(b['sk'] ?? '')));
}

describe('hostile requests at every route', () => {
  beforeAll(async () => {
    fx = await fixture();
  });

  it('are answered with a 4xx in the envelope and change nothing', async () => {
    const before = await reachable();
    expect(before.length).toBeGreaterThanOrEqual(5);
    const request = fc.oneof(...ROUTES.map((r) => routeRequest(r)), strayRequest);
    await fc.assert(
      fc.asyncProperty(request, async (r) => {
        const res = await send(r);
        const what = `${r.method} ${r.path} [${r.defects.join(', ')}] -> ${res.status} ${res.text.slice(0, 300)}`;
        expect(res.status, what).toBeGreaterThanOrEqual(400);
        expect(res.status, what).toBeLessThan(500);
        expect(res.contentType, what).toMatch(/^application\/json/);
        const body = JSON.parse(res.text) as Record<string, unknown>;
        expect(Object.keys(body).sort(), what).toEqual(['reason', 'success']);
        expect(body['success'], what).toBe(false);
        expect(typeof body['reason'] === 'string' && body['reason'].length > 0, what).toBe(true);
      }),
      { numRuns: RUNS },
    );
    const after = await reachable();
    expect(after).toEqual(before);
    expect(after.filter((item) => item['last_modified_by'] === fx.user)).toEqual([]);
  });
});
