/**
 * Boot storm: 1,000 nodes ask for one image's download link at once
 * (`GET /image/{name}/content?redirect=false`, 50 in flight, driven by
 * autocannon), against bare DynamoDB Local GetItem at the same concurrency in
 * the same run. Target: no errors, and p99 at most 3 × GetItem's p99.
 *
 * The baseline is GetItem as the service itself reads (the SDK's
 * DynamoDBClient, as bench/api-latency.bench.ts uses); the same GetItem
 * replayed as raw HTTP by autocannon, without the SDK, is printed too.
 *
 * The stack runs in a child process, so the load generator does not share an
 * event loop with the handlers. Latencies are taken from each response
 * (sub-millisecond), not from autocannon's whole-millisecond histogram.
 */
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import type { EventEmitter } from 'node:events';
import { DynamoDBClient, GetItemCommand } from '@aws-sdk/client-dynamodb';
import autocannon from 'autocannon';
import type { StackChildInfo } from './lib/stack-child.js';
import { fmt, verdict } from './lib/measure.js';
import { keys } from '../functions/core/db/schema.js';

const REQUESTS = 1000;
const IN_FLIGHT = 50;
const WARMUP = 200;
const CONTENT_BYTES = 1024 * 1024;
const TARGET_P99_RATIO = 3;

interface Target {
  url: string;
  method: 'GET' | 'POST';
  headers: Record<string, string>;
  body?: string;
}

interface Run {
  latencies: number[];
  errors: number;
}

/** One autocannon run of `amount` requests, keeping every response's own latency. */
async function load(target: Target, amount: number): Promise<Run> {
  const latencies: number[] = [];
  let failures = 0;
  const instance = autocannon({
    url: target.url,
    method: target.method,
    headers: target.headers,
    ...(target.body !== undefined ? { body: target.body } : {}),
    connections: IN_FLIGHT,
    amount,
    timeout: 30,
  });
  // The tracker emits (client, status, bytes, ms); @types/autocannon omits the client.
  (instance as unknown as EventEmitter).on('response', (_client: unknown, status: number, _bytes: number, ms: number) => {
    if (status >= 200 && status < 300) latencies.push(ms);
    else failures++;
  });
  const result = await instance;
  return { latencies: latencies.sort((a, b) => a - b), errors: failures + result.errors + result.timeouts };
}

/** `amount` GetItem calls through the SDK, `IN_FLIGHT` at a time. */
async function sdkLoad(client: DynamoDBClient, command: GetItemCommand, amount: number): Promise<Run> {
  const latencies: number[] = [];
  let errors = 0;
  let left = amount;
  const worker = async () => {
    while (left > 0) {
      left--;
      const started = performance.now();
      try {
        const out = await client.send(command);
        if (out.Item) latencies.push(performance.now() - started);
        else errors++;
      } catch {
        errors++;
      }
    }
  };
  await Promise.all(Array.from({ length: IN_FLIGHT }, worker));
  return { latencies: latencies.sort((a, b) => a - b), errors };
}

const percentile = (sorted: number[], p: number): number =>
  sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;

async function startStack(): Promise<{ info: StackChildInfo; stop: () => Promise<void> }> {
  const child = spawn(
    process.execPath,
    [
      ...(process.env['BENCH_CPU_PROF'] ? ['--cpu-prof', '--cpu-prof-dir=/tmp/prof'] : []),
      '--import',
      'tsx',
      new URL('./lib/stack-child.ts', import.meta.url).pathname,
    ],
    {
      stdio: ['pipe', 'pipe', 'inherit'],
    },
  );
  const lines = createInterface({ input: child.stdout });
  const info = await new Promise<StackChildInfo>((resolve, reject) => {
    lines.once('line', (line) => resolve(JSON.parse(line) as StackChildInfo));
    child.once('exit', (code) => reject(new Error(`the stack exited early (${code})`)));
  });
  const stop = () =>
    new Promise<void>((resolve) => {
      child.once('exit', () => resolve());
      child.stdin.end();
    });
  return { info, stop };
}

async function api<T>(info: StackChildInfo, method: string, path: string, body?: unknown): Promise<T> {
  const res = await fetch(`${info.apiUrl}${path}`, {
    method,
    headers: { authorization: `Bearer ${info.token}`, 'content-type': 'application/json' },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  const parsed = (await res.json()) as { success: boolean; data: T; reason?: string };
  if (!parsed.success) throw new Error(`${method} ${path}: ${res.status} ${parsed.reason}`);
  return parsed.data;
}

/** An image with real content: uploaded through its presigned URL and hashed. */
async function bootImage(info: StackChildInfo): Promise<{ uid: string; name: string }> {
  const name = 'BootStormImage';
  const uid = await api<string>(info, 'POST', '/images', { name });
  const session = await api<{ upload_id: string; parts: { part_number: number; url: string }[] }>(info, 'PUT', `/image/${name}/content`, {
    size: CONTENT_BYTES,
    fmt: 'raw',
  });
  const put = await fetch(session.parts[0]!.url, { method: 'PUT', body: Buffer.alloc(CONTENT_BYTES, 7) });
  const etag = put.headers.get('etag');
  if (!put.ok || !etag) throw new Error(`part upload failed: ${put.status}`);
  const path = `/image/${name}/content/upload/${session.upload_id}`;
  await api(info, 'POST', path, { parts: [{ part_number: 1, etag }] });
  for (let i = 0; i < 600; i++) {
    const state = (await api<{ state: string; reason?: string }>(info, 'GET', path)).state;
    if (state === 'ready') return { uid, name };
    if (state === 'failed') throw new Error('the hasher failed the boot image');
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error('the boot image was not hashed within a minute');
}

/**
 * A GetItem request as the SDK sends it (signed, JSON body), replayed as is:
 * DynamoDB Local does not check signatures or their age.
 */
async function getItemRequest(
  info: StackChildInfo,
  uid: string,
): Promise<{ raw: Target; client: DynamoDBClient; command: GetItemCommand }> {
  const client = new DynamoDBClient({
    endpoint: info.dynamodbEndpoint,
    region: 'us-east-1',
    credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
  });
  let captured: { headers: Record<string, string>; body: string } | undefined;
  client.middlewareStack.add(
    (next) => async (args) => {
      const request = args.request as { headers: Record<string, string>; body: string };
      captured = { headers: { ...request.headers }, body: String(request.body) };
      return next(args);
    },
    { step: 'deserialize', name: 'captureSignedRequest' },
  );
  const command = new GetItemCommand({ TableName: info.tableName, Key: { pk: { S: keys.image(uid).pk } }, ConsistentRead: true });
  const out = await client.send(command);
  client.middlewareStack.remove('captureSignedRequest');
  if (!out.Item || !captured) throw new Error('GetItem found no image');
  const { host: _host, 'content-length': _length, ...headers } = captured.headers;
  return { raw: { url: `${info.dynamodbEndpoint}/`, method: 'POST', headers, body: captured.body }, client, command };
}

const { info, stop } = await startStack();
try {
  const image = await bootImage(info);
  const getItem = await getItemRequest(info, image.uid);
  const auth = { authorization: `Bearer ${info.token}` };
  const byName: Target = { url: `${info.apiUrl}/image/${image.name}/content?redirect=false`, method: 'GET', headers: auth };
  const byUid: Target = { url: `${info.apiUrl}/image/${image.uid}/content?redirect=false`, method: 'GET', headers: auth };

  await sdkLoad(getItem.client, getItem.command, WARMUP);
  for (const t of [getItem.raw, byName, byUid]) await load(t, WARMUP);
  const runs = {
    bare: await sdkLoad(getItem.client, getItem.command, REQUESTS),
    raw: await load(getItem.raw, REQUESTS),
    byName: await load(byName, REQUESTS),
    byUid: await load(byUid, REQUESTS),
  };
  getItem.client.destroy();

  const row = (label: string, run: Run) =>
    console.log(
      `${label.padEnd(44)} p50 ${fmt(percentile(run.latencies, 50), 2).padStart(7)} ms   p99 ${fmt(percentile(run.latencies, 99), 2).padStart(7)} ms   errors ${run.errors}`,
    );
  console.log(`Boot storm: ${REQUESTS} requests, ${IN_FLIGHT} in flight (after ${WARMUP} warm-up each), autocannon`);
  row('bare DynamoDB Local GetItem (SDK)', runs.bare);
  row('the same GetItem as raw HTTP (autocannon)', runs.raw);
  row('GET /image/{name}/content?redirect=false', runs.byName);
  row('GET /image/{uid}/content?redirect=false', runs.byUid);
  const ratio = (run: Run, base: Run, p: number) => percentile(run.latencies, p) / percentile(base.latencies, p);
  for (const [label, run] of [
    ['by name', runs.byName],
    ['by uid', runs.byUid],
  ] as const) {
    const p99 = ratio(run, runs.bare, 99);
    console.log(
      `${label}: ratio p50 ${fmt(ratio(run, runs.bare, 50), 2)}   ratio p99 ${fmt(p99, 2)} (target ≤ ${TARGET_P99_RATIO}: ${verdict(p99, TARGET_P99_RATIO, false)})   errors ${run.errors} (target 0: ${verdict(run.errors, 0, false)})   against raw GetItem: p50 ${fmt(ratio(run, runs.raw, 50), 2)} p99 ${fmt(ratio(run, runs.raw, 99), 2)}`,
    );
  }
} finally {
  await stop();
}
