/**
 * The local stack must not load aws-cdk-lib: importing it wraps every fs and
 * child_process function of the process in CDK's performance counters (unless
 * NODE_ENV is "test", as under vitest, so only a process of its own shows it),
 * and the local S3 paid that on every write (infra/bundling.ts).
 */
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

const PROBE = `
await import(process.argv[1]);
const fs = await import('node:fs');
const hooked = String(fs.default.write).includes('performance') || globalThis[Symbol.for('@aws-cdk/core:performanceProfilingState')] !== undefined;
console.log(hooked ? 'aws-cdk-lib loaded' : 'clean');
`;

function probe(module: string): string {
  const env = { ...process.env };
  delete env['NODE_ENV'];
  const run = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', PROBE, join(root, module)], {
    cwd: root,
    env,
    encoding: 'utf8',
  });
  if (run.status !== 0) throw new Error(`the probe of ${module} failed: ${run.stderr}`);
  return run.stdout.trim();
}

describe('the local stack and aws-cdk-lib', () => {
  it('the probe sees aws-cdk-lib when it is loaded', () => {
    expect(probe('infra/constructs/service-function.ts')).toBe('aws-cdk-lib loaded');
  });

  it.each(['local/stack.ts', 'local/api-functions.ts', 'local/lambda-runtime.ts'])('%s does not load it', (module) => {
    expect(probe(module)).toBe('clean');
  });
});
