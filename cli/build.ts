/**
 * `npm run build:cli` (also run on install): bundles
 * imgctl (cli/main.ts) with esbuild into cli/dist/imgctl.mjs, and writes next
 * to it cli/dist/inputs.json, the project's own source files the bundle was
 * built from. The bin launcher runs the bundle only while none of them is
 * missing or newer than it (cli/bin/fresh.js).
 */
import { mkdirSync, renameSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { build } from 'esbuild';
import { REQUIRE_BANNER } from '../infra/require-banner.js';
import { BUNDLE, MANIFEST } from './bin/fresh.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');

export interface CliBuild {
  bundle: string;
  manifest: string;
  /** Project-relative paths of the sources in the bundle (no node_modules). */
  inputs: string[];
}

export interface CliBuildOptions {
  /** The project whose cli/main.ts is bundled. Default: this checkout. */
  root?: string;
  /** Default: root/cli/dist. */
  outDir?: string;
}

export async function buildCli(options: CliBuildOptions = {}): Promise<CliBuild> {
  const root = resolve(options.root ?? ROOT);
  const bundle = options.outDir ? join(options.outDir, 'imgctl.mjs') : join(root, BUNDLE);
  const manifest = options.outDir ? join(options.outDir, 'inputs.json') : join(root, MANIFEST);
  mkdirSync(dirname(bundle), { recursive: true });
  // No manifest, no bundle run: a build that fails half-way leaves the sources in charge.
  rmSync(manifest, { force: true });
  // The bundle is dated when the build began, so a source saved while
  // esbuild runs counts as newer than the bundle.
  const started = new Date();
  const result = await build({
    absWorkingDir: root,
    entryPoints: ['cli/main.ts'],
    outfile: bundle,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    write: false,
    metafile: true,
    logLevel: 'warning',
    // commander and cli-progress are CommonJS and require node built-ins.
    banner: { js: REQUIRE_BANNER },
  });
  const output = result.outputFiles.find((f) => f.path === bundle);
  if (!output) throw new Error(`esbuild wrote no ${bundle}`);
  // Metafile paths are relative to absWorkingDir; dependencies are left out
  // (install rebuilds the bundle whenever they change).
  const inputs = Object.keys(result.metafile.inputs)
    .filter((path) => !path.split('/').includes('node_modules'))
    .sort();
  if (!inputs.includes('cli/main.ts')) throw new Error(`the bundle's inputs do not include cli/main.ts: ${inputs.join(', ')}`);
  // Written aside and renamed, so a launcher never sees half a file.
  const part = `.${process.pid}.part`;
  writeFileSync(bundle + part, output.contents);
  utimesSync(bundle + part, started, started);
  renameSync(bundle + part, bundle);
  writeFileSync(manifest + part, `${JSON.stringify({ inputs }, null, 2)}\n`);
  renameSync(manifest + part, manifest);
  return { bundle, manifest, inputs };
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  const built = await buildCli();
  console.log(`imgctl: bundled ${built.inputs.length} source files into ${relative(process.cwd(), built.bundle)}`);
}
