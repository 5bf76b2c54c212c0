/**
 * Bundling settings shared by the CDK construct, the bundle test and the
 * benchmark, so all three measure the artefact that is actually deployed.
 */
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { BuildOptions } from 'esbuild';
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
export const SHA1_WORKER: WorkerScript = { entry: 'functions/core/hashing/sha1-worker.mjs', file: 'sha1-worker.mjs' };

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
 * ESM dependencies), and no source map (a few lines of our own).
 */
export function workerEsbuildOptions(script: WorkerScript, outdir: string): BuildOptions {
  const { banner: _banner, ...options } = esbuildOptions(join(REPO_ROOT, script.entry));
  return { ...options, sourcemap: false, outfile: join(outdir, script.file) };
}

/**
 * The same build as a command line, for the construct's afterBundling hook:
 * paths from the hook's own input directory (the project root) and output
 * directory, as CDK hands them over; bash runs it (no Windows).
 */
export function workerBuildCommand(script: WorkerScript, inputDir: string, outdir: string): string {
  const quote = (arg: string) => `'${arg.replaceAll("'", `'\\''`)}'`;
  const args = [
    join(inputDir, 'node_modules', '.bin', 'esbuild'),
    join(inputDir, script.entry),
    '--bundle',
    '--platform=node',
    '--format=esm',
    `--target=${ESBUILD_TARGET}`,
    '--minify',
    `--main-fields=${MAIN_FIELDS.join(',')}`,
    '--log-level=warning',
    `--outfile=${join(outdir, script.file)}`,
  ];
  return args.map(quote).join(' ');
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
