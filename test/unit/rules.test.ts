/** Small rules with many cases: part sizes, and group claims as gateways flatten them. */
import { beforeAll, describe, expect, it } from 'vitest';
import { groupsOf } from '../../functions/http/auth.js';
import { choosePartSize, expectedPartSize } from '../../functions/core/uploads/service.js';
import { matchRoute } from '../../functions/routes.js';

const MiB = 1024 * 1024;
const GiB = 1024 * MiB;

beforeAll(() => {
  delete process.env['DEFAULT_PART_SIZE'];
});

describe('part size', () => {
  it('defaults to 64 MiB', () => {
    expect(choosePartSize(10 * GiB, undefined)).toBe(64 * MiB);
  });

  it('grows past the default when 10,000 parts would not hold the file', () => {
    const size = 5 * 1024 * GiB; // 5 TiB
    const part = choosePartSize(size, undefined);
    expect(part).toBe(Math.ceil(size / 10_000));
    expect(Math.ceil(size / part)).toBeLessThanOrEqual(10_000);
  });

  it('takes a requested size of at least 5 MiB and at least size / 10,000', () => {
    expect(choosePartSize(100 * MiB, 5 * MiB)).toBe(5 * MiB);
    expect(() => choosePartSize(100 * MiB, 5 * MiB - 1)).toThrow(/at least 5242880 bytes/);
    expect(() => choosePartSize(100 * GiB, 5 * MiB)).toThrow(/too small: it must be at least 10737419 bytes/);
    expect(() => choosePartSize(100 * MiB, 6 * GiB)).toThrow(/at most 5368709120 bytes/);
  });

  it('every part is part_size long but the last, which holds the rest', () => {
    const session = { size: 12_000_000, part_size: 5 * MiB, part_count: 3 };
    expect([1, 2, 3].map((n) => expectedPartSize(session, n))).toEqual([5 * MiB, 5 * MiB, 12_000_000 - 10 * MiB]);
  });
});

describe('groups claim', () => {
  it.each([
    ['[admins ops]', ['admins', 'ops']],
    ['[admins]', ['admins']],
    ['[]', []],
    ['["admins","ops"]', ['admins', 'ops']],
    ['[ops,admins]', ['ops,admins']],
    ['admins,ops', ['admins,ops']],
    ['admins', ['admins']],
  ])('%s', (claim, groups) => {
    expect(groupsOf(claim)).toEqual(groups);
  });

  it('does not take a group named "ops,admins" for the admins group', () => {
    expect(groupsOf('[ops,admins]')).not.toContain('admins');
  });

  it('takes a real array, and ignores what is neither', () => {
    expect(groupsOf(['admins'])).toEqual(['admins']);
    expect(groupsOf(undefined)).toEqual([]);
    expect(groupsOf(42)).toEqual([]);
  });
});

describe('route matching', () => {
  it('matches as API Gateway does and says which methods a path takes', () => {
    expect(matchRoute('GET', '/api/v1/image/abc/content/upload/u1')).toMatchObject({
      kind: 'route',
      params: { id: 'abc', upload_id: 'u1' },
    });
    expect(matchRoute('PATCH', '/api/v1/images')).toEqual({ kind: 'method_not_allowed', allowed: ['POST', 'GET'] });
    expect(matchRoute('GET', '/api/v1/image/a/b')).toEqual({ kind: 'not_found' });
    expect(matchRoute('GET', '/api/v1/image/%E0%A4%A')).toMatchObject({ kind: 'route', params: { id: '%E0%A4%A' } });
  });
});
