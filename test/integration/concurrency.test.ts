/** Two (or 25) requests at once must leave the data consistent. */
import { describe, expect, it } from 'vitest';
import { call, createImage, uniqueName } from './api.js';
import { nameGuardViolations } from './table.js';

const N = 25;

describe('concurrent requests', () => {
  it('25 parallel creates of one name: exactly one succeeds, 24 conflict', async () => {
    const name = uniqueName('race');
    const results = await Promise.all(
      Array.from({ length: N }, (_, i) => call<string>('POST', '/images', { body: { name, description: `try ${i}` } })),
    );
    const statuses = results.map((r) => r.status).sort();
    expect(statuses.filter((s) => s === 201)).toHaveLength(1);
    expect(statuses.filter((s) => s === 409)).toHaveLength(N - 1);
    for (const r of results.filter((x) => x.status === 409)) expect(r.body.reason).toBe(`an image named "${name}" already exists`);
    const winner = results.find((r) => r.status === 201)!.body.data;
    expect((await call<{ uid: string }>('GET', `/image/${name}`)).body.data?.uid).toBe(winner);
    expect(await nameGuardViolations()).toEqual([]);
  });

  it('25 parallel PATCHes of one image lose no update', async () => {
    const { uid } = await createImage();
    const results = await Promise.all(
      Array.from({ length: N }, (_, i) =>
        call<{ description: string }>('PATCH', `/image/${uid}`, { body: { description: `writer ${i}` } }),
      ),
    );
    for (const r of results) expect([200, 409]).toContain(r.status);
    const applied = results.filter((r) => r.status === 200);
    expect(applied.length).toBeGreaterThan(0);
    // Each applied update took its own version: none overwrote another unseen.
    const versions = applied.map((r) => Number(r.headers.get('etag')!.replaceAll('"', '')));
    expect(new Set(versions).size).toBe(applied.length);
    const final = await call<{ description: string }>('GET', `/image/${uid}`);
    expect(Number(final.headers.get('etag')!.replaceAll('"', ''))).toBe(1 + applied.length);
    const last = applied[versions.indexOf(Math.max(...versions))]!;
    expect(final.body.data?.description).toBe(last.body.data?.description);
  });

  it('parallel renames onto one free name: one wins, and every name guard stays true', async () => {
    const images = await Promise.all(Array.from({ length: 10 }, () => createImage()));
    const target = uniqueName('target');
    const results = await Promise.all(images.map((img) => call('PATCH', `/image/${img.uid}`, { body: { name: target } })));
    expect(results.filter((r) => r.status === 200)).toHaveLength(1);
    expect(results.filter((r) => r.status === 409)).toHaveLength(9);
    const loserNames = images.filter((_, i) => results[i]!.status === 409).map((img) => img.name);
    for (const name of loserNames) expect((await call('GET', `/image/${name}`)).status).toBe(200);
    expect(await nameGuardViolations()).toEqual([]);
  });

  it('delete racing with updates and a re-create of the name leaves no orphan guard', async () => {
    const { uid, name } = await createImage();
    const results = await Promise.all([
      call('DELETE', `/image/${uid}`),
      ...Array.from({ length: 8 }, (_, i) => call('PATCH', `/image/${uid}`, { body: { description: `p${i}` } })),
      ...Array.from({ length: 4 }, () => call('POST', '/images', { body: { name } })),
    ]);
    expect(results[0]!.status).toBe(200);
    for (const r of results.slice(1, 9)) expect([200, 404, 409]).toContain(r.status);
    expect(await nameGuardViolations()).toEqual([]);
  });
});
