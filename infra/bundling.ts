/**
 * Bundling settings shared by the CDK construct, the local stack, the bundle
 * test and the benchmark, so that each runs or measures the artefact that is
 * actually deployed. The local stack loads this module: it must not import
 * aws-cdk-lib (test/local/no-cdk.test.ts).
 */
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { BuildOptions, BuildResult } from 'esbuild';
import { REQUIRE_BANNER } from './require-banner.js';

/**
 * The functions' Lambda runtime, by name (Node.js 20 is retired on Lambda;
 * cdk-nag's L1 also asks for the newest runtime CDK knows). A name, not CDK's
 * Runtime: the local stack loads this module, and importing aws-cdk-lib wraps
 * every fs and child_process function of the process in its performance
 * counters (unless NODE_ENV is "test"), which the local S3 paid on every write.
 */
export const LAMBDA_RUNTIME_NAME = 'nodejs24.x';
export const ESBUILD_TARGET = LAMBDA_RUNTIME_NAME.replace(/^nodejs(\d+)\.x$/, 'node$1');

export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
export const FUNCTIONS_DIR = join(REPO_ROOT, 'functions');
export const LOCK_FILE = join(REPO_ROOT, 'package-lock.json');

export const FUNCTION_NAMES = ['records', 'content', 'hasher', 'sweeper', 'capture-authorizer'] as const;
export type FunctionName = (typeof FUNCTION_NAMES)[number];

export const entryOf = (name: FunctionName, dir: string = FUNCTIONS_DIR): string => join(dir, `${name}.ts`);

export { REQUIRE_BANNER };

/** Prefer packages' ESM builds: smaller after tree shaking than their CJS ones. */
export const MAIN_FIELDS = ['module', 'main'];

/**
 * Module replacements, relative to REPO_ROOT (esbuild resolves alias paths from
 * its working directory). See infra/lambda-credentials.ts.
 */
export const ALIASES: Readonly<Record<string, string>> = {
  '@aws-sdk/credential-provider-node': './infra/lambda-credentials.ts',
};

/**
 * A worker thread's script, built as a file of its own beside the bundle of a
 * function that starts it: esbuild does not follow `new Worker(new URL(file,
 * import.meta.url))`, so the script is a second entry point.
 */
export interface WorkerScript {
  /** The source, relative to REPO_ROOT: plain JavaScript, so it also runs unbundled from the source tree. */
  readonly entry: string;
  /** The file name the starting module asks for, beside it. */
  readonly file: string;
}

/** The resumable SHA-1's thread (functions/core/hashing/sha1.ts starts it). */
const SHA1_WORKER: WorkerScript = { entry: 'functions/core/hashing/sha1-worker.mjs', file: 'sha1-worker.mjs' };

/** The worker scripts each function's bundle needs beside it (test/infra/bundles.test.ts checks this against the bundles). */
export const FUNCTION_WORKERS: Readonly<Record<FunctionName, readonly WorkerScript[]>> = {
  records: [],
  content: [],
  hasher: [SHA1_WORKER],
  sweeper: [],
  'capture-authorizer': [],
};

/** The worker scripts a bundle of `entry` needs: a function's, or none for another entry. */
export function workersOf(entry: string): readonly WorkerScript[] {
  const name = FUNCTION_NAMES.find((n) => resolve(entryOf(n)) === resolve(entry));
  return name ? FUNCTION_WORKERS[name] : [];
}

/**
 * esbuild options for a worker script beside a bundle in `outdir`: the
 * function's options without the require banner (the scripts are ESM with
 * ESM dependencies), and no source map (a few lines of our own). `root` is
 * the project root the build runs in.
 */
export function workerEsbuildOptions(script: WorkerScript, outdir: string, root: string = REPO_ROOT): BuildOptions {
  const { banner: _banner, ...options } = esbuildOptions(join(root, script.entry));
  return { ...options, absWorkingDir: root, sourcemap: false, outfile: join(outdir, script.file) };
}

/** Builds the worker scripts into `outdir` (the local stack, the bundle check, the benchmark). */
export async function buildWorkerScripts(scripts: readonly WorkerScript[], outdir: string): Promise<BuildResult<{ metafile: true }>[]> {
  const { build } = await import('esbuild');
  return Promise.all(scripts.map((script) => build({ ...workerEsbuildOptions(script, outdir), metafile: true, write: true })));
}

/**
 * The same build as a command line, for the construct's afterBundling hook,
 * made from workerEsbuildOptions so that the deployed script is built as the
 * tested one: paths from the hook's own input directory (the project root)
 * and output directory, as CDK hands them over; bash runs it (no Windows).
 */
export function workerBuildCommand(script: WorkerScript, inputDir: string, outdir: string): string {
  const quote = (arg: string) => `'${arg.replaceAll("'", `'\\''`)}'`;
  const {
    entryPoints,
    absWorkingDir = inputDir,
    bundle,
    minify,
    mainFields = [],
    alias = {},
    sourcemap: _none,
    outExtension: _byOutfile,
    ...flags
  } = { ...workerEsbuildOptions(script, outdir, inputDir), logLevel: 'warning' as const };
  const args = [
    join(inputDir, 'node_modules', '.bin', 'esbuild'),
    ...(entryPoints as string[]),
    ...(bundle ? ['--bundle'] : []),
    ...(minify ? ['--minify'] : []),
    ...(mainFields.length > 0 ? [`--main-fields=${mainFields.join(',')}`] : []),
    ...Object.entries(alias).map(([from, to]) => `--alias:${from}=${to}`),
    ...Object.entries(flags).map(([key, value]) => {
      if (typeof value === 'object') throw new Error(`esbuild option ${key} has no command-line form here`);
      return `--${key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}=${String(value)}`;
    }),
  ];
  return `cd ${quote(absWorkingDir)} && ${args.map(quote).join(' ')}`;
}

/** esbuild API options equivalent to what NodejsFunction runs for the construct. */
export function esbuildOptions(entry: string): BuildOptions {
  return {
    entryPoints: [entry],
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: ESBUILD_TARGET,
    minify: true,
    sourcemap: 'external',
    mainFields: MAIN_FIELDS,
    banner: { js: REQUIRE_BANNER },
    alias: { ...ALIASES },
    absWorkingDir: REPO_ROOT,
    outExtension: { '.js': '.mjs' },
    logLevel: 'silent',
  };
}
