/**
 * API latency: 1,000 sequential `GET /image/{uid}` through the local gateway
 * and the records handler, against 1,000 bare GetItem calls on the same
 * DynamoDB Local in the same run. Target: p50 ratio ≤ 2.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DynamoDBClient, GetItemCommand } from '@aws-sdk/client-dynamodb';
import { startLocalStack } from '../local/stack.js';
import { fmt, verdict } from './lib/measure.js';
import { keys } from '../functions/core/db/schema.js';

const N = 1000;
const WARMUP = 100;

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;
}

async function timeEach(n: number, fn: () => Promise<void>): Promise<number[]> {
  for (let i = 0; i < WARMUP; i++) await fn();
  const times: number[] = [];
  for (let i = 0; i < n; i++) {
    const t = performance.now();
    await fn();
    times.push(performance.now() - t);
  }
  return times.sort((a, b) => a - b);
}

const dataDir = await mkdtemp(join(tmpdir(), 'image-service-bench-'));
const stack = await startLocalStack({ dataDir, port: 0 });
try {
  const token = await stack.token('bench', { admin: true });
  const headers = { authorization: `Bearer ${token}` };
  const created = await fetch(`${stack.apiUrl}/images`, {
    method: 'POST',
    headers,
    body: JSON.stringify({ name: 'BenchImage', description: 'latency', distro: 'Rocky' }),
  });
  const uid = ((await created.json()) as { data: string }).data;

  const ddb = new DynamoDBClient({});
  const bare = await timeEach(N, async () => {
    await ddb.send(new GetItemCommand({ TableName: stack.tableName, Key: { pk: { S: keys.image(uid).pk } }, ConsistentRead: true }));
  });
  const api = await timeEach(N, async () => {
    const res = await fetch(`${stack.apiUrl}/image/${uid}`, { headers });
    if (res.status !== 200) throw new Error(`GET /image answered ${res.status}`);
    await res.arrayBuffer();
  });
  ddb.destroy();

  const row = (name: string, t: number[]) =>
    console.log(`${name.padEnd(34)} p50 ${fmt(percentile(t, 50), 2).padStart(7)} ms   p99 ${fmt(percentile(t, 99), 2).padStart(7)} ms`);
  console.log(`API latency, ${N} sequential requests each (after ${WARMUP} warm-up)`);
  row('bare DynamoDB Local GetItem', bare);
  row('GET /image/{uid} via the gateway', api);
  const p50 = percentile(api, 50) / percentile(bare, 50);
  const p99 = percentile(api, 99) / percentile(bare, 99);
  console.log(`ratio p50 ${fmt(p50, 2)} (target ≤ 2: ${verdict(p50, 2, false)})   ratio p99 ${fmt(p99, 2)}`);
} finally {
  await stack.stop();
  await rm(dataDir, { recursive: true, force: true });
}
