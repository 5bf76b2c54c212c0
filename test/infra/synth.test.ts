/**
 * `cdk synth` as an operator or CI runs it: the CLI, cdk.json's app command,
 * real esbuild bundling, no AWS credentials and no network. Run once for the
 * file; the tests read the cloud assembly it leaves.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { workerFilesIn } from '../../infra/bundle-check.js';
import { FUNCTION_NAMES, REPO_ROOT } from '../../infra/bundling.js';

const CLI = join(REPO_ROOT, 'node_modules', 'aws-cdk', 'bin', 'cdk');

/** The environment minus anything that could reach AWS or identify an account. */
function offlineEnv(home: string): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (!/^(AWS_|CDK_DEFAULT_)/.test(k)) env[k] = v;
  }
  return {
    ...env,
    AWS_CONFIG_FILE: join(home, 'no-config'),
    AWS_SHARED_CREDENTIALS_FILE: join(home, 'no-credentials'),
    AWS_EC2_METADATA_DISABLED: 'true',
    CDK_DISABLE_VERSION_CHECK: '1',
    CDK_DISABLE_CLI_TELEMETRY: 'true',
    // vitest sets NODE_ENV=test, which would make the app report validation in-memory style.
    NODE_ENV: 'production',
  };
}

interface Resource {
  readonly Type: string;
  readonly Properties?: Record<string, unknown>;
  readonly Metadata?: Record<string, unknown>;
}

/** Ours are Node.js; CDK's own S3 notifications handler is Python. */
const isOurFunction = (r: Resource): boolean =>
  r.Type === 'AWS::Lambda::Function' &&
  String(r.Properties?.Runtime).startsWith('nodejs') &&
  // Not aws-cdk-lib's AwsCustomResource function (DefaultImage).
  !String(r.Metadata?.['aws:cdk:path']).includes('AWS679f53fac002430cb0da5b7982bd2287');

let out: string;
interface Run {
  readonly status: number | null;
  readonly stdout: string;
  readonly stderr: string;
}
let run: Run;

/**
 * Asynchronous, so the worker keeps answering vitest while synth runs for
 * minutes on a busy machine (a blocked worker fails the run with RPC timeouts).
 */
function runCli(args: string[], env: NodeJS.ProcessEnv, timeoutMs: number): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], { cwd: REPO_ROOT, env, timeout: timeoutMs });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.on('error', reject);
    child.on('close', (status) => resolve({ status, stdout, stderr }));
  });
}
let template: { Resources: Record<string, Resource> };

beforeAll(async () => {
  out = mkdtempSync(join(tmpdir(), 'image-service-synth-'));
  const started = Date.now();
  run = await runCli(['synth', '--no-notices', '--quiet', '--output', join(out, 'cdk.out')], offlineEnv(out), 240_000);
  console.log(`cdk synth: exit ${run.status} in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  if (run.status === 0) {
    template = JSON.parse(readFileSync(join(out, 'cdk.out', 'ImageService.template.json'), 'utf8')) as typeof template;
  }
}, 300_000);

afterAll(() => {
  if (out) rmSync(out, { recursive: true, force: true });
});

describe('cdk synth (offline)', () => {
  it('succeeds without credentials, cdk-nag included', () => {
    expect(run.status, `${run.stdout}\n${run.stderr}`).toBe(0);
    expect(run.stderr).not.toMatch(/AwsSolutions-\w+/);
  });

  it('produces an environment-agnostic template with our four functions', () => {
    const manifest = JSON.parse(readFileSync(join(out, 'cdk.out', 'manifest.json'), 'utf8')) as {
      artifacts: Record<string, { environment?: string; type: string }>;
      missing?: unknown[];
    };
    expect(manifest.artifacts.ImageService?.environment).toBe('aws://unknown-account/unknown-region');
    // No context lookups: nothing would need AWS at synth time.
    expect(manifest.missing ?? []).toEqual([]);
    const functions = Object.values(template.Resources).filter(isOurFunction);
    expect(functions).toHaveLength(FUNCTION_NAMES.length);
  });

  it('bundles each function as minified ESM with a source map and the AWS SDK inside', () => {
    const assets = Object.values(template.Resources)
      .filter(isOurFunction)
      .map((r) => String(r.Metadata?.['aws:asset:path']));
    expect(assets).toHaveLength(FUNCTION_NAMES.length);
    for (const asset of assets) {
      const dir = join(out, 'cdk.out', asset);
      expect(existsSync(join(dir, 'index.mjs.map')), asset).toBe(true);
      const code = readFileSync(join(dir, 'index.mjs'), 'utf8');
      expect(code.startsWith("import { createRequire as __cr } from 'node:module'")).toBe(true);
      // Nothing left to import from the runtime's SDK copy. (An SDK error message quotes
      // `[require("@aws-sdk/signature-v4-crt")]`, hence the lookbehinds.)
      expect(code).not.toMatch(/\}\s*from\s*["']@aws-sdk\//);
      expect(code).not.toMatch(/(?<![[\w])import\s*["']@aws-sdk\//);
      expect(code).not.toMatch(/(?<!\[)require\(["']@aws-sdk\//);
      // Minified: long lines (a few remain for template literals and legal comments).
      expect(code.length / code.split('\n').length).toBeGreaterThan(1000);
    }
  });

  it('puts beside each bundle the worker scripts it starts, built with their dependencies inside', () => {
    const started: string[] = [];
    for (const r of Object.values(template.Resources).filter(isOurFunction)) {
      const dir = join(out, 'cdk.out', String(r.Metadata?.['aws:asset:path']));
      const code = readFileSync(join(dir, 'index.mjs'), 'utf8');
      for (const file of workerFilesIn(code)) {
        started.push(file);
        const script = readFileSync(join(dir, file), 'utf8');
        expect(script).not.toMatch(/from\s*["'](?!node:)/);
      }
    }
    // The hasher's resumable SHA-1 (infra/bundling.ts, FUNCTION_WORKERS).
    expect(started).toEqual(['sha1-worker.mjs']);
  });
});
