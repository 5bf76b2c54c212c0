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
