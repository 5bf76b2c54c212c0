/**
 * Starts one real local stack for the whole test run (free ports, a fresh
 * data directory) and hands its coordinates to the test files.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestProject } from 'vitest/node';
import { startLocalStack } from '../../local/stack.js';

export interface StackInfo {
  apiUrl: string;
  dynamodbEndpoint: string;
  s3Endpoint: string;
  /** Absent for a stack run in a child process (the crash suite), whose runtime listens on a port of its own. */
  lambdaEndpoint?: string;
  tableName: string;
  bucket: string;
  dataDir: string;
  tokens: { admin: string; admin2: string; reader: string; expired: string };
}

declare module 'vitest' {
  export interface ProvidedContext {
    stack: StackInfo;
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const dataDir = await mkdtemp(join(tmpdir(), 'image-service-test-'));
  const stack = await startLocalStack({ dataDir, port: 0 });
  project.provide('stack', {
    apiUrl: stack.apiUrl,
    dynamodbEndpoint: stack.dynamodbEndpoint,
    s3Endpoint: stack.s3Endpoint,
    lambdaEndpoint: stack.lambda.endpoint,
    tableName: stack.tableName,
    bucket: stack.bucket,
    dataDir,
    tokens: {
      admin: await stack.token('admin1', { admin: true }),
      admin2: await stack.token('admin2', { admin: true }),
      reader: await stack.token('reader1'),
      expired: await stack.token('admin1', { admin: true, ttl: '-1s' as string }),
    },
  });
  return async () => {
    await stack.stop();
    await rm(dataDir, { recursive: true, force: true });
  };
}
