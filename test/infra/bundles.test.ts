/**
 * Every function's bundle, built by esbuild as the stack builds it: it builds,
 * and leaves nothing external but Node built-ins (the AWS SDK is bundled, not
 * taken from the runtime). Size and cold import time are measured by
 * `npm run bench` (bench/bundles.bench.ts), not asserted here.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type BuiltBundle, buildBundle, kib } from '../../infra/bundle-check.js';
import { FUNCTION_NAMES } from '../../infra/bundling.js';

let outdir: string;
const bundles = new Map<string, BuiltBundle>();

beforeAll(async () => {
  outdir = mkdtempSync(join(tmpdir(), 'image-service-bundles-'));
  for (const name of FUNCTION_NAMES) bundles.set(name, await buildBundle(name, outdir));
  const lines = [...bundles.values()].map((b) => {
    const top = b.byPackage
      .slice(0, 4)
      .map(([p, n]) => `${p} ${kib(n)}`)
      .join(', ');
    return `${b.name.padEnd(8)} ${kib(b.bytes).padStart(11)}\n         largest: ${top}`;
  });
  console.log(`bundle sizes (minified ESM, source maps excluded):\n${lines.join('\n')}`);
}, 120_000);

afterAll(() => {
  if (outdir) rmSync(outdir, { recursive: true, force: true });
});

const isBuiltin = (spec: string): boolean => spec.startsWith('node:') || builtinModules.includes(spec.split('/')[0] ?? spec);

describe.each(FUNCTION_NAMES)('%s bundle', (name) => {
  it('imports nothing at run time but Node built-ins', () => {
    expect(bundles.get(name)!.externalImports.filter((i) => !isBuiltin(i))).toEqual([]);
  });

  it('has beside it the script of every worker thread it starts, and that script imports only Node built-ins', () => {
    const bundle = bundles.get(name)!;
    expect(bundle.workers.map((w) => w.file).sort()).toEqual(bundle.workerFiles);
    for (const worker of bundle.workers) expect(worker.externalImports.filter((i) => !isBuiltin(i))).toEqual([]);
  });

  it('contains the AWS SDK and none of its credential chain (env credentials only on Lambda)', () => {
    const pkgs = bundles.get(name)!.byPackage.map(([p]) => p);
    expect(pkgs).toContain('@aws-sdk/client-dynamodb');
    expect(pkgs).not.toContain('@aws-sdk/credential-provider-node');
    expect(pkgs).not.toContain('@aws-sdk/nested-clients');
  });
});
