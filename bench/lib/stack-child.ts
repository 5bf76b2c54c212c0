/**
 * A local stack in a process of its own, for load benchmarks: the load
 * generator must not share an event loop with the handlers it measures (on
 * AWS they run in Lambda, not in the client). Prints one JSON line with the
 * stack's coordinates and an admin token, and stops when stdin closes.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startLocalStack } from '../../local/stack.js';

export interface StackChildInfo {
  apiUrl: string;
  dynamodbEndpoint: string;
  tableName: string;
  token: string;
}

const dataDir = await mkdtemp(join(tmpdir(), 'image-service-bench-'));
const stack = await startLocalStack({ dataDir, port: 0 });
const info: StackChildInfo = {
  apiUrl: stack.apiUrl,
  dynamodbEndpoint: stack.dynamodbEndpoint,
  tableName: stack.tableName,
  token: await stack.token('bench', { admin: true }),
};
process.stdout.write(`${JSON.stringify(info)}\n`);

let stopping = false;
const stop = async () => {
  if (stopping) return;
  stopping = true;
  await stack.stop();
  await rm(dataDir, { recursive: true, force: true });
  process.exit(0);
};
process.stdin.on('end', () => void stop());
process.stdin.on('close', () => void stop());
process.stdin.resume();
process.on('SIGTERM', () => void stop());
