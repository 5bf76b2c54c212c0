/**
 * The launcher's choice between the bundle and the sources (cli/bin/fresh.js),
 * on a made-up project in a temporary directory, and on a real build of this
 * one into a temporary directory.
 */
import { mkdirSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { buildCli } from '../../cli/build.js';
import { BUNDLE, MANIFEST, entryFor, staleReason } from '../../cli/bin/fresh.js';
import { ROOT } from './helpers.js';

const HOUR = 3600_000;
const at = (ms: number) => new Date(ms);

function write(root: string, path: string, text: string, mtime: number): void {
  const file = join(root, path);
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, text);
  utimesSync(file, at(mtime), at(mtime));
}

describe('the fresh check, on a made-up project', () => {
  let root: string;
  const built = Date.now() - HOUR;

  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), 'imgctl-fresh-'));
    write(root, 'cli/main.ts', 'main', built - HOUR);
    write(root, 'cli/transfer/hash.ts', 'hash', built - HOUR);
    write(root, MANIFEST, JSON.stringify({ inputs: ['cli/main.ts', 'cli/transfer/hash.ts'] }), built);
    write(root, BUNDLE, 'bundle', built);
  });

  afterEach(() => rm(root, { recursive: true, force: true }));

  it('says bundle when every listed source is older than the bundle', () => {
    expect(staleReason(root)).toBeNull();
    expect(entryFor(root, {})).toBe('bundle');
  });

  it('says source when a listed source changed after the build, even by a millisecond', () => {
    utimesSync(join(root, 'cli/transfer/hash.ts'), at(built + 1), at(built + 1));
    expect(staleReason(root)).toBe('cli/transfer/hash.ts changed after the build');
    expect(entryFor(root, {})).toBe('source');
  });

  it('says source when a listed source has the same mtime as the bundle', () => {
    utimesSync(join(root, 'cli/main.ts'), at(built), at(built));
    expect(entryFor(root, {})).toBe('source');
  });

  it('says source when a listed source is gone', () => {
    rmSync(join(root, 'cli/transfer/hash.ts'));
    expect(staleReason(root)).toBe('cli/transfer/hash.ts is missing');
    expect(entryFor(root, {})).toBe('source');
  });

  it('says source without a bundle, without a manifest, or with a manifest that lists nothing', () => {
    rmSync(join(root, MANIFEST));
    expect(staleReason(root)).toMatch(/^no readable manifest/);
    write(root, MANIFEST, '{"inputs": [', built);
    expect(staleReason(root)).toMatch(/^no readable manifest/);
    write(root, MANIFEST, '{"inputs": []}', built);
    expect(staleReason(root)).toMatch(/lists no inputs$/);
    write(root, MANIFEST, '{"inputs": [7]}', built);
    expect(staleReason(root)).toMatch(/lists a non-path$/);
    expect(entryFor(root, {})).toBe('source');
    rmSync(join(root, BUNDLE));
    expect(staleReason(root)).toMatch(/^no bundle at /);
  });

  it('says source with IMGCTL_FROM_SOURCE=1, fresh or not; IMGCTL_FROM_SOURCE=0 does not force it', () => {
    expect(entryFor(root, { IMGCTL_FROM_SOURCE: '1' })).toBe('source');
    expect(entryFor(root, { IMGCTL_FROM_SOURCE: '0' })).toBe('bundle');
    expect(entryFor(root, { IMGCTL_FROM_SOURCE: '' })).toBe('bundle');
  });
});

describe('the fresh check, on a build of this checkout', () => {
  it('lists the project-relative sources, and finds the build fresh until one of them is newer', async () => {
    const out = await mkdtemp(join(tmpdir(), 'imgctl-build-'));
    const { bundle, manifest, inputs } = await buildCli({ outDir: out });
    expect(bundle).toBe(join(out, 'imgctl.mjs'));
    expect(JSON.parse(await readFile(manifest, 'utf8'))).toEqual({ inputs });
    expect(inputs).toEqual(expect.arrayContaining(['cli/main.ts', 'cli/program.ts', 'cli/transfer/hash.ts']));
    for (const input of inputs) {
      // Relative, no node_modules, inside cli/ but for the shared retry loop (which imports nothing).
      expect(input === 'functions/core/retry.ts' || /^cli\/[\w/-]+\.ts$/.test(input), input).toBe(true);
      statSync(join(ROOT, input)); // and it exists
    }

    expect(staleReason(ROOT, bundle, manifest)).toBeNull();
    // Date the bundle (not the sources) back to just before the newest source changed.
    const newest = Math.max(...inputs.map((i) => statSync(join(ROOT, i)).mtimeMs));
    utimesSync(bundle, at(newest - 1), at(newest - 1));
    const reason = staleReason(ROOT, bundle, manifest);
    const named = reason?.match(/^(.+) changed after the build$/)?.[1];
    expect(named, String(reason)).toBeDefined();
    expect(statSync(join(ROOT, named!)).mtimeMs).toBeGreaterThanOrEqual(statSync(bundle).mtimeMs);
    await rm(out, { recursive: true, force: true });
  });
});
