/** Bad input: each gets a 4xx with a reason that says what was wrong, and nothing is written. */
import { describe, expect, it } from 'vitest';
import { call, createImage, stack, uniqueName } from './api.js';

async function expectNoImageNamed(name: string): Promise<void> {
  expect((await call('GET', `/image/${encodeURIComponent(name)}`)).status).toBe(404);
}

describe('create with bad bodies', () => {
  const cases: [string, string | Buffer, number, RegExp][] = [
    ['malformed JSON', '{"name": "x",', 400, /^the body is not valid JSON: /],
    ['an empty body', '', 400, /a JSON object body is required/],
    ['an array', '["x"]', 400, /must be a JSON object, not an array/],
    ['a string', '"NewImage"', 400, /must be a JSON object, not string/],
    ['null', 'null', 400, /must be a JSON object, not null/],
    ['a number name', '{"name": 5}', 400, /name: must be a string/],
    ['an empty name', '{"name": ""}', 400, /name: must not be empty/],
    ['a long name', JSON.stringify({ name: `a${'b'.repeat(128)}` }), 400, /name: must be at most 128 characters/],
    ['a name with a space', '{"name": "my image"}', 400, /name: must start with a letter and contain only/],
    ['a name starting with a digit', '{"name": "9lives"}', 400, /name: must start with a letter/],
    ['a name that looks like a UID', '{"name": "abcdefabcdefabcdefabcdefabcdef12"}', 400, /must not look like a UID/],
    ['a missing name', '{"description": "x"}', 400, /name: must be a string/],
    ['a non-boolean frozen', '{"name": "x1", "frozen": "yes"}', 400, /frozen: must be true or false/],
    ['an empty description', '{"name": "x2", "description": ""}', 400, /description: must not be empty \(use null to clear it\)/],
    ['a long description', JSON.stringify({ name: 'x3', description: 'd'.repeat(4097) }), 400, /description: must be at most 4096/],
    ['an object distro', '{"name": "x4", "distro": {}}', 400, /distro: must be a string or null/],
    ['an unknown field', '{"name": "x5", "colour": "red"}', 400, /unknown field "colour"/],
    ['a read-only field', '{"name": "x6", "uid": "0123456789abcdef0123456789abcdef"}', 400, /"uid" is set by the service/],
    ['content', '{"name": "x7", "content": {}}', 400, /content cannot be set here; upload it with PUT/],
    ['an unknown parent', '{"name": "x8", "parent": "ghost"}', 400, /parent "ghost" is not an existing image/],
  ];
  for (const [what, raw, status, reason] of cases) {
    it(`refuses ${what}`, async () => {
      const res = await call('POST', '/images', { raw });
      expect(res.status).toBe(status);
      expect(res.body.success).toBe(false);
      expect(res.body.reason).toMatch(reason);
    });
  }

  it('writes nothing for any of them', async () => {
    for (const name of ['x1', 'x2', 'x3', 'x4', 'x5', 'x6', 'x7', 'x8']) await expectNoImageNamed(name);
  });

  it('refuses a body over 1 MiB with 413', async () => {
    const name = uniqueName();
    const res = await call('POST', '/images', { raw: JSON.stringify({ name, description: 'x'.repeat(1024 * 1024) }) });
    expect(res.status).toBe(413);
    expect(res.body.reason).toMatch(/limit is 1048576 \(1 MiB\)/);
    await expectNoImageNamed(name);
  });

  it('refuses a body over API Gateway’s 10 MB with 413', async () => {
    const res = await call('POST', '/images', { raw: Buffer.alloc(11 * 1024 * 1024, 32) });
    expect(res.status).toBe(413);
    expect(res.body.success).toBe(false);
  });

  it('accepts the body whatever its content type, as curl --data sends form encoding', async () => {
    const name = uniqueName();
    const res = await call('POST', '/images', {
      raw: JSON.stringify({ name }),
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
    });
    expect(res.status).toBe(201);
  });
});

describe('changes with bad bodies', () => {
  it('refuses an empty PATCH, a bad field and a bad If-Match, and changes nothing', async () => {
    const { uid } = await createImage({ description: 'same' });
    const cases: [Record<string, unknown> | string, Record<string, string>, RegExp][] = [
      [{}, {}, /give at least one of name, description, frozen, parent, distro/],
      [{ name: 'has space' }, {}, /name: must start with a letter/],
      [{ name: null }, {}, /name: cannot be cleared: an image always has a name/],
      [{ last_modified: 1 }, {}, /"last_modified" is set by the service/],
      ['{not json', {}, /not valid JSON/],
      [{ description: 'new' }, { 'if-match': 'seven' }, /If-Match must list ETags/],
      [{ description: 'red \u001b[31malert' }, {}, /description: must not contain control characters/],
      [{ distro: 'broken \ud800 text' }, {}, /distro: must not contain control characters/],
    ];
    for (const [body, headers, reason] of cases) {
      const res = await call('PATCH', `/image/${uid}`, typeof body === 'string' ? { raw: body, headers } : { body, headers });
      expect(res.status).toBe(400);
      expect(res.body.reason).toMatch(reason);
    }
    const got = await call<{ description: string }>('GET', `/image/${uid}`);
    expect(got.body.data?.description).toBe('same');
    expect(got.headers.get('etag')).toBe('"1"');
  });
});

describe('routes', () => {
  it('answers an unknown route with 404 and a reason, to a valid token', async () => {
    const res = await call('GET', '/imagez', { token: stack().tokens.reader });
    expect(res.status).toBe(404);
    expect(res.body).toEqual({ success: false, reason: 'no such route: GET /api/v1/imagez (the API lives under /api/v1)' });
  });

  it('answers any path without a valid token with 401 first, as the JWT authorizer on $default does', async () => {
    for (const path of ['/imagez', '/image/some-image']) {
      for (const token of [null, 'not-a-jwt']) {
        const res = await call('GET', path, { token });
        expect(res.status, `${path} ${token}`).toBe(401);
        expect(res.headers.get('www-authenticate')).toBe('Bearer');
      }
    }
    // Outside the API's base path too: nothing reaches a function without a token.
    const outside = await fetch(new URL('/somewhere/else', stack().apiUrl));
    expect(outside.status).toBe(401);
  });

  it('answers a known path with the wrong method with 405 and the allowed ones', async () => {
    const res = await call('POST', '/image/some-image', { body: {} });
    expect(res.status).toBe(405);
    expect(res.headers.get('allow')).toBe('GET, PATCH, PUT, DELETE');
    expect(res.body.reason).toMatch(/POST is not allowed on \/api\/v1\/image\/some-image/);
  });
});

describe('odd paths', () => {
  it('answers 404, not 500, for an upload id that cannot be one', async () => {
    const { uid } = await createImage();
    for (const method of ['GET', 'DELETE'] as const) {
      const res = await call(method, `/image/${uid}/content/upload/${'u'.repeat(2100)}`);
      expect(res.status).toBe(404);
      expect(res.body.reason).toMatch(/^no upload "u+" for image/);
    }
  });

  it('answers 404, not 500, for broken %-encoding and ids that cannot be names', async () => {
    for (const id of ['%E0%A4%A', 'x'.repeat(5000), '%00', 'a%2Fb']) {
      const res = await call('GET', `/image/${id}`);
      expect(res.status, id.slice(0, 20)).toBe(404);
      expect(res.body.reason).toMatch(/^no image with UID or name/);
    }
  });
});
