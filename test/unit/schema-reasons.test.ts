/**
 * Every limit of the request schemas says which limit it is: a string that is
 * too long is told so, not that it "must be a string".
 */
import { describe, expect, it } from 'vitest';
import {
  cloneBody,
  completeUploadBody,
  createBody,
  downloadQuery,
  listQuery,
  patchBody,
  startUploadBody,
} from '../../functions/api/schemas.js';
import { parseWith } from '../../functions/http/validation.js';

function reason(schema: Parameters<typeof parseWith>[0], value: unknown): string {
  try {
    parseWith(schema, value, 'x');
  } catch (error) {
    return (error as Error).message;
  }
  throw new Error(`accepted ${JSON.stringify(value).slice(0, 80)}`);
}

const part = (etag: string, part_number: number = 1) => ({ parts: [{ part_number, etag }] });

describe('each schema limit has its own reason', () => {
  it.each<[string, Parameters<typeof parseWith>[0], unknown, string]>([
    ['name too long', createBody, { name: `a${'b'.repeat(128)}` }, 'name: must be at most 128 characters'],
    ['name like a UID', createBody, { name: 'a'.repeat(32) }, 'name: must not look like a UID (32 hex characters)'],
    ['description too long', createBody, { name: 'a', description: 'd'.repeat(4097) }, 'description: must be at most 4096 characters'],
    ['distro too long', patchBody, { distro: 'd'.repeat(257) }, 'distro: must be at most 256 characters'],
    ['parent too long', patchBody, { parent: 'p'.repeat(129) }, 'parent: must be at most 128 characters'],
    ['clone description empty', cloneBody, { name: 'a', description: '' }, 'description: must not be empty (use null to clear it)'],
    ['etag too long', completeUploadBody, part('e'.repeat(257)), 'parts.0.etag: must be at most 256 characters'],
    ['etag empty', completeUploadBody, part(''), 'parts.0.etag: must not be empty'],
    ['part_number too big', completeUploadBody, part('e', 10_001), 'parts.0.part_number: part_number must be at most 10000'],
    ['part_number fractional', completeUploadBody, part('e', 1.5), 'parts.0.part_number: part_number must be a whole number'],
    ['no parts', completeUploadBody, { parts: [] }, 'parts: must list at least one part'],
    ['size zero', startUploadBody, { size: 0 }, 'size: size must be at least 1'],
    ['fmt too long', startUploadBody, { size: 1, fmt: 'f'.repeat(33) }, 'fmt: must be 1-32 lower-case letters, digits, "_" or "-"'],
    ['sha1 too short', startUploadBody, { size: 1, sha1: 'abc' }, 'sha1: must be 40 hex characters, optionally prefixed "sha1:"'],
    ['limit too big', listQuery, { limit: '1001' }, 'limit: must be at most 1000'],
    ['limit not a number', listQuery, { limit: '1e2' }, 'limit: must be a whole number'],
    ['next repeated', listQuery, { next: 'a,b' }, 'next: must be given once (a repeated parameter arrives joined with commas)'],
    ['parts too many', downloadQuery, { parts: '1001' }, 'parts: must be at most 1000'],
  ])('%s', (_, schema, value, expected) => {
    expect(reason(schema, value)).toBe(`invalid x: ${expected}`);
  });

  it('a string over any length limit is never told it must be a string', () => {
    const long = 'x'.repeat(5000);
    for (const [schema, value] of [
      [createBody, { name: long }],
      [createBody, { name: 'a', description: long, distro: long, parent: long }],
      [completeUploadBody, part(long)],
      [startUploadBody, { size: 1, sha1: long, fmt: long }],
      [patchBody, { name: long }],
    ] as const) {
      expect(reason(schema, value)).not.toMatch(/must be a string/);
    }
  });
});
