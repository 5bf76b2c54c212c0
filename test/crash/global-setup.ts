/**
 * The crash suite's stack coordinates: fixed free ports and a fresh data
 * directory, so the stack the scenarios kill comes back where the test
 * helpers (test/integration/api.ts) expect it. The scenarios own the stack
 * process itself (test/crash/stack-process.ts).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestProject } from 'vitest/node';
import { freePort } from '../../local/ports.js';
import { issueToken, loadOrCreateKeys } from '../../local/tokens.js';
import type { StackInfo } from '../integration/global-setup.js';

declare module 'vitest' {
  export interface ProvidedContext {
    crashEnv: Record<string, string>;
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  // The test files' SDK clients, as the integration stack sets it: Node 20 is fine here.
  process.env['AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED'] ??= 'true';
  const dataDir = await mkdtemp(join(tmpdir(), 'image-service-crash-'));
  const [port, dynamodbPort, s3Port] = [await freePort(), await freePort(), await freePort()];
  // The stack reads this key from its data directory when it starts.
  const keys = await loadOrCreateKeys(dataDir);
  const token = (user: string, admin: boolean, ttl = '3h') => issueToken(keys, { user, admin, ttl });
  const stack: StackInfo = {
    apiUrl: `http://127.0.0.1:${port}/api/v1`,
    dynamodbEndpoint: `http://127.0.0.1:${dynamodbPort}`,
    s3Endpoint: `http://127.0.0.1:${s3Port}`,
    tableName: 'image-service',
    bucket: 'image-service-content',
    dataDir,
    tokens: {
      admin: await token('admin1', true),
      admin2: await token('admin2', true),
      reader: await token('reader1', false),
      expired: await token('admin1', true, '-1s'),
    },
  };
  project.provide('stack', stack);
  project.provide('crashEnv', {
    DATA_DIR: dataDir,
    PORT: String(port),
    DYNAMODB_PORT: String(dynamodbPort),
    S3_PORT: String(s3Port),
    // One small range at a time: hashing a few MiB takes long enough to be killed in the middle.
    HASHER_CONCURRENCY: '1',
    HASHER_RANGE_SIZE: String(64 * 1024),
    // Short runs, retries and re-drive margin, a sweep every few seconds: a session whose hasher was
    // killed is re-driven within seconds of the restart rather than after a deployed run (15 min) and more.
    HASHER_TIMEOUT_SECONDS: '5',
    LAMBDA_RETRY_DELAYS_SECONDS: '3,4',
    REDRIVE_MARGIN_SECONDS: '5',
    SWEEP_INTERVAL_SECONDS: '3',
  });
  return async () => {
    await rm(dataDir, { recursive: true, force: true });
  };
}
