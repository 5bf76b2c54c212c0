/**
 * The artefacts Lambda runs: each function built by esbuild exactly as the CDK
 * stack builds it (minified ESM, the SDK inside, the env-only credential
 * provider), loaded in a fresh Node process and invoked
 * against the local stack. The rest of the suite runs the TypeScript sources;
 * this shows the bundles do the same work: records, an upload through presigned
 * URLs, a completion checked against S3 (ListParts, CompleteMultipartUpload),
 * the hasher (HeadObject, ranged GetObject), a presigned download, a delete.
 *
 * The bundles get a bucket of their own in the local S3: the stack's hasher
 * takes events from its content bucket only (as the notification on AWS), so
 * the bundled hasher is the one that hashes this upload. The sweeper bundle is
 * built but not invoked: it works over the whole table, shared with the other
 * test files.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { CreateBucketCommand, ListObjectsV2Command } from '@aws-sdk/client-s3';
import { buildBundle } from '../../infra/bundle-check.js';
import type { FunctionName } from '../../infra/bundling.js';
import { useLocalHandlerEnvironment } from '../../local/handler-env.js';
import { apiEvent, objectCreated, route } from '../unit/events.js';
import { createImage, stack, uniqueName } from './api.js';
import { startCapture } from './capture-client.js';
import {
  fetchBytes,
  makeContent,
  PART,
  partBytes,
  putPart,
  sha1Hex,
  testS3,
  waitForState,
  type CompletedPart,
  type Session,
} from './upload-client.js';
import { contentKey } from '../../functions/core/db/schema.js';

const BUNDLED: readonly FunctionName[] = ['records', 'content', 'hasher', 'sweeper', 'capture-authorizer'];
let outdir: string;
const files = new Map<FunctionName, string>();
let env: NodeJS.ProcessEnv;
const bucket = `bundles-${randomBytes(4).toString('hex')}`;

/** Child script: imports one bundle, calls its handler once, prints the result as JSON. */
const INVOKE = `
const [url, eventJson] = process.argv.slice(1);
const { handler } = await import(url);
const deadline = Date.now() + 60_000;
const context = {
  functionName: 'bundle-test', functionVersion: '$LATEST', memoryLimitInMB: '1024',
  invokedFunctionArn: 'arn:aws:lambda:local:000000000000:function:bundle-test',
  awsRequestId: crypto.randomUUID(), logGroupName: 'bundle-test', logStreamName: 'bundle-test',
  callbackWaitsForEmptyEventLoop: false, getRemainingTimeInMillis: () => deadline - Date.now(),
};
const result = await handler(JSON.parse(eventJson), context);
process.stdout.write(JSON.stringify(result ?? null));
`;

function invoke<T>(fn: FunctionName, event: unknown): Promise<T> {
  const file = files.get(fn);
  if (!file) throw new Error(`${fn} was not built`);
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--input-type=module', '-e', INVOKE, pathToFileURL(file).href, JSON.stringify(event)], {
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    child.stderr.on('data', (c: Buffer) => (err += c.toString()));
    child.once('error', reject);
    child.once('close', (code) => {
      if (code !== 0) return reject(new Error(`${fn} bundle exited with ${code}:\n${err}`));
      resolve(JSON.parse(out) as T);
    });
  });
}

interface Envelope<T> {
  success: boolean;
  data?: T;
  message?: string;
}

async function api<T>(fn: FunctionName, routeKey: string, options: Parameters<typeof apiEvent>[1] & { query?: string } = {}) {
  const event = { ...apiEvent(routeKey, options), rawQueryString: options.query ?? '' };
  if (options.query) event.queryStringParameters = Object.fromEntries(new URLSearchParams(options.query));
  const result = await invoke<APIGatewayProxyStructuredResultV2>(fn, event);
  return { status: result.statusCode, headers: result.headers ?? {}, body: JSON.parse(result.body ?? '{}') as Envelope<T> };
}

beforeAll(async () => {
  outdir = mkdtempSync(join(tmpdir(), 'image-service-bundles-'));
  for (const name of BUNDLED) files.set(name, (await buildBundle(name, outdir)).file);
  // The environment the stack gives its handlers, for the children only.
  await testS3().send(new CreateBucketCommand({ Bucket: bucket }));
  const saved = { ...process.env };
  useLocalHandlerEnvironment({ ...stack(), bucket }, { POWERTOOLS_LOG_LEVEL: 'ERROR' });
  env = { ...process.env };
  process.env = saved;
}, 120_000);

afterAll(() => {
  if (outdir) rmSync(outdir, { recursive: true, force: true });
});

describe('the bundled functions against the local stack', () => {
  it('create, upload through presigned URLs, complete, hash and download, as on Lambda', { timeout: 120_000 }, async () => {
    const name = uniqueName('bundled');
    // As on the head node, creating answers with the new image's UID.
    const created = await api<string>('records', route('POST', '/images'), { body: { name } });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    const uid = created.body.data ?? '';
    expect(uid).toMatch(/^[0-9a-f]{32}$/);

    const data = makeContent(1, 1234);
    const started = await api<Session>('content', route('PUT', '/image/{id}/content'), {
      params: { id: uid },
      body: { size: data.length, sha1: sha1Hex(data), part_size: PART, fmt: 'raw' },
    });
    expect(started.status, JSON.stringify(started.body)).toBe(201);
    const session = started.body.data as Session;
    const parts: CompletedPart[] = [];
    for (const part of session.parts ?? []) {
      parts.push({ part_number: part.part_number, etag: await putPart(part.url, partBytes(data, session.part_size, part.part_number)) });
    }
    expect(parts.map((p) => p.part_number)).toEqual([1, 2]);

    const completed = await api<Session>('content', route('POST', '/image/{id}/content/upload/{upload_id}'), {
      params: { id: uid, upload_id: session.upload_id },
      body: { parts },
    });
    expect(completed.status, JSON.stringify(completed.body)).toBe(202);

    // S3's event, as the notification delivers it, to the bundled hasher.
    const key = contentKey(session.upload_id);
    const outcomes = await invoke<string[]>('hasher', objectCreated(bucket, key, data.length));
    expect(outcomes).toEqual(['ready']);
    expect((await waitForState(uid, session.upload_id, ['ready'], 1000)).state).toBe('ready');

    const info = await api<{ size: number; chksum: string; refcnt: number }>('content', route('GET', '/image/{id}/content/info'), {
      params: { id: uid },
    });
    expect(info.status).toBe(200);
    expect(info.body.data).toMatchObject({ size: data.length, chksum: `sha1:${sha1Hex(data)}`, refcnt: 1 });

    const link = await api<{ url: string }>('content', route('GET', '/image/{id}/content'), {
      params: { id: uid },
      query: 'redirect=false',
    });
    expect(link.status, JSON.stringify(link.body)).toBe(200);
    const downloaded = await fetchBytes(link.body.data?.url ?? '');
    expect(downloaded.status).toBe(200);
    expect(sha1Hex(downloaded.bytes)).toBe(sha1Hex(data));

    // Deleting the image releases its only reference: the object goes from S3.
    const deleted = await api<unknown>('content', route('DELETE', '/image/{id}'), { params: { id: uid } });
    expect(deleted.status, JSON.stringify(deleted.body)).toBe(200);
    const left = await testS3().send(new ListObjectsV2Command({ Bucket: bucket }));
    expect(left.KeyCount ?? 0).toBe(0);
  });

  it('the bundled capture authorizer: the job of the credential for its routes, nothing for a JWT or another job', {
    timeout: 60_000,
  }, async () => {
    const { name } = await createImage();
    const job = await startCapture(name);
    const status = route('GET', '/capture/{capture_id}');
    const authorize = (routeKey: string, authorization: string, captureId = job.capture_id) =>
      invoke<{ isAuthorized: boolean; context: Record<string, string> }>('capture-authorizer', {
        version: '2.0',
        type: 'REQUEST',
        routeKey,
        headers: { authorization },
        pathParameters: { capture_id: captureId },
      });
    expect(await authorize(status, `Capture ${job.credential}`)).toEqual({
      isAuthorized: true,
      context: { capture_id: job.capture_id, image_uid: job.image, created_by: job.created_by, created_on: 'local' },
    });
    expect((await authorize(status, `Bearer ${stack().tokens.admin}`)).isAuthorized).toBe(false);
    expect((await authorize(status, `Capture ${job.credential}`, '0123456789abcdef0123456789abcdef')).isAuthorized).toBe(false);
    expect((await authorize(route('GET', '/image/{id}'), `Capture ${job.credential}`)).isAuthorized).toBe(false);
  });
});
