/**
 * Builds a function's bundle with esbuild's API, exactly as the construct
 * does, for the bundle tests and the benchmark (not used by the CDK app).
 */
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { build, type Metafile } from 'esbuild';
import { buildWorkerScripts, FUNCTION_WORKERS, type FunctionName, entryOf, esbuildOptions } from './bundling.js';

export interface BuiltBundle {
  readonly name: FunctionName;
  /** The ESM file Lambda loads (index.mjs). */
  readonly file: string;
  readonly bytes: number;
  /** Bytes in the bundle per npm package (or local directory), largest first. */
  readonly byPackage: readonly (readonly [string, number])[];
  /** Imports left for the runtime to resolve: must be Node built-ins only. */
  readonly externalImports: readonly string[];
  /** The files the bundle starts worker threads from (`new URL('./x.mjs', import.meta.url)`). */
  readonly workerFiles: readonly string[];
  /** The worker scripts built beside it (infra/bundling.ts, FUNCTION_WORKERS). */
  readonly workers: readonly { readonly file: string; readonly externalImports: readonly string[] }[];
}

const packageOf = (input: string): string =>
  input.match(/node_modules\/((?:@[^/]+\/)?[^/]+)/)?.[1] ?? input.split('/').slice(0, 2).join('/');

export async function buildBundle(name: FunctionName, outdir: string): Promise<BuiltBundle> {
  const dir = join(outdir, name);
  mkdirSync(dir, { recursive: true });
  const file = join(dir, 'index.mjs');
  const result = await build({ ...esbuildOptions(entryOf(name)), outfile: file, metafile: true, write: true });
  const output = Object.entries(result.metafile.outputs).find(([path]) => path.endsWith('index.mjs'))?.[1];
  if (!output) throw new Error(`esbuild wrote no index.mjs for ${name}`);
  const scripts = FUNCTION_WORKERS[name];
  const workers = (await buildWorkerScripts(scripts, dir)).map((built, i) => {
    const file = scripts[i]?.file ?? '';
    const [, workerOutput] = Object.entries(built.metafile.outputs).find(([path]) => path.endsWith(file)) ?? [];
    if (!workerOutput) throw new Error(`esbuild wrote no ${file} for ${name}`);
    return { file, externalImports: externals(workerOutput) };
  });
  return {
    name,
    file,
    bytes: output.bytes,
    byPackage: sizesByPackage(output),
    externalImports: externals(output),
    workerFiles: workerFilesIn(readFileSync(file, 'utf8')),
    workers,
  };
}

/** Worker scripts a bundle starts: esbuild leaves `new URL("./x.mjs",import.meta.url)` as it is. */
export const workerFilesIn = (code: string): string[] =>
  [...new Set([...code.matchAll(/new URL\(\s*["']\.\/([\w.-]+\.mjs)["']\s*,\s*import\.meta\.url\s*\)/g)].map((m) => m[1] ?? ''))].sort();

function sizesByPackage(output: Metafile['outputs'][string]): (readonly [string, number])[] {
  const sizes = new Map<string, number>();
  for (const [input, { bytesInOutput }] of Object.entries(output.inputs)) {
    const pkg = packageOf(input);
    sizes.set(pkg, (sizes.get(pkg) ?? 0) + bytesInOutput);
  }
  return [...sizes.entries()].sort((a, b) => b[1] - a[1]);
}

function externals(output: Metafile['outputs'][string]): string[] {
  return [...new Set(output.imports.filter((i) => i.external).map((i) => i.path))].sort();
}

export const kib = (bytes: number): string => `${(bytes / 1024).toFixed(1)} KiB`;
