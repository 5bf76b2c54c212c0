/**
 * Bundle size and cold import time of each Lambda function.
 *
 * Builds every function as the stack does (esbuild, minified ESM, SDK inside),
 * then imports each bundle in a fresh Node process, several times, and keeps
 * the median. The baseline is the same measurement of an empty module in the
 * same run, so the ratio (and the net time, bundle minus baseline) says what
 * the bundle itself costs on this machine, however busy it is.
 * Target: ≤ 100 ms to import (the size is printed for information).
 *
 *   node --import tsx bench/bundles.bench.ts
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { type BuiltBundle, buildBundle, kib } from '../infra/bundle-check.js';
import { FUNCTION_NAMES } from '../infra/bundling.js';

const RUNS = 7;
const IMPORT_TARGET_MS = 100;

/** Child script: time one dynamic import, print milliseconds. */
const PROBE = `
const url = process.argv[1];
const t0 = performance.now();
await import(url);
process.stdout.write(String(performance.now() - t0));
`;

/** What the functions' configuration reads at module load, with harmless values; no network is touched. */
const CHILD_ENV: NodeJS.ProcessEnv = {
  PATH: process.env.PATH,
  AWS_REGION: 'us-east-1',
  AWS_ACCESS_KEY_ID: 'bench',
  AWS_SECRET_ACCESS_KEY: 'bench',
  TABLE_NAME: 'bench',
  BUCKET_NAME: 'bench',
  SITE_NAME: 'bench',
  POWERTOOLS_SERVICE_NAME: 'image-service',
  POWERTOOLS_LOG_LEVEL: 'ERROR',
};

function importMs(file: string): number {
  const run = spawnSync(process.execPath, ['--input-type=module', '-e', PROBE, pathToFileURL(file).href], {
    env: CHILD_ENV,
    encoding: 'utf8',
    timeout: 30_000,
  });
  const ms = Number(run.stdout);
  if (run.status !== 0 || !Number.isFinite(ms)) {
    throw new Error(`importing ${file} failed (exit ${run.status}):\n${run.stderr}`);
  }
  return ms;
}

function medianImportMs(file: string): number {
  const samples = Array.from({ length: RUNS }, () => importMs(file)).sort((a, b) => a - b);
  return samples[Math.floor(samples.length / 2)] ?? Number.NaN;
}

const verdict = (ok: boolean): string => (ok ? 'ok' : 'MISSED');

async function main(): Promise<void> {
  const outdir = mkdtempSync(join(tmpdir(), 'image-service-bench-'));
  try {
    const bundles: BuiltBundle[] = [];
    for (const name of FUNCTION_NAMES) bundles.push(await buildBundle(name, outdir));

    const empty = join(outdir, 'empty.mjs');
    writeFileSync(empty, 'export {};\n');
    const baseline = medianImportMs(empty);

    console.log(`Node ${process.version}; median of ${RUNS} fresh processes per module`);
    console.log(`baseline: import of an empty module ${baseline.toFixed(2)} ms\n`);
    console.log('function    size         import ms   net ms   x baseline   vs 100 ms');
    let failures = 0;
    for (const b of bundles) {
      let ms: number;
      try {
        ms = medianImportMs(b.file);
      } catch (err) {
        failures++;
        console.log(`${b.name.padEnd(11)} ${kib(b.bytes).padEnd(11)} import FAILED: ${String(err)}`);
        continue;
      }
      console.log(
        [
          b.name.padEnd(11),
          kib(b.bytes).padEnd(11),
          ms.toFixed(1).padStart(9),
          (ms - baseline).toFixed(1).padStart(8),
          `${(ms / baseline).toFixed(1)}x`.padStart(12),
          `  ${verdict(ms <= IMPORT_TARGET_MS)}`,
        ].join(' '),
      );
      const top = b.byPackage.slice(0, 4).map(([p, n]) => `${p} ${kib(n)}`);
      console.log(`            largest: ${top.join(', ')}`);
    }
    // Missed targets are results, not errors; a bundle that cannot even be imported is.
    process.exitCode = failures === 0 ? 0 : 1;
  } finally {
    rmSync(outdir, { recursive: true, force: true });
  }
}

await main();
