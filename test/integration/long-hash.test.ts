/**
 * Hashing across invocations and the re-drive, on a stack of its own: the
 * hasher gets a 2-second deadline (HASHER_TIMEOUT_SECONDS), Lambda's retries
 * and the re-drive's margin are shortened, and a test hook loses events as a
 * crash would. The rest of the suite keeps the deployed timeouts.
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SessionView } from '../../functions/core/uploads/service.js';
import { HASHER, startLocalStack, type LocalStack } from '../../local/stack.js';

const MIB = 1024 * 1024;
const MAX_REDRIVES = 3;
let stack: LocalStack;
let token: string;
let dataDir: string;

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'image-service-long-hash-'));
  stack = await startLocalStack({
    dataDir,
    port: 0,
    hasherTimeoutSeconds: 2,
    // Longer than a lease outlives its run (LEASE_MARGIN_MS), so a retry of an abandoned run may claim it.
    retryDelaysSeconds: [3, 4],
    sweepIntervalSeconds: 1,
    handlerEnv: {
      REDRIVE_MARGIN_SECONDS: '3',
      MAX_REDRIVES: String(MAX_REDRIVES),
      // A run of 2 s hashes a few tens of MB here: fetching far ahead would be thrown away at each pause.
      HASHER_CONCURRENCY: '2',
      HASHER_RANGE_SIZE: String(8 * MIB),
      POWERTOOLS_LOG_LEVEL: 'ERROR',
    },
  });
  token = await stack.token('admin1', { admin: true });
});

afterAll(async () => {
  await stack?.stop();
  await rm(dataDir, { recursive: true, force: true });
});

async function api<T>(method: string, path: string, body?: unknown): Promise<T> {
  const res = await fetch(`${stack.apiUrl}${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const parsed = (await res.json()) as { success: boolean; data?: T; reason?: string };
  if (!parsed.success || parsed.data === undefined) throw new Error(`${method} ${path}: ${res.status} ${parsed.reason}`);
  return parsed.data;
}

let names = 0;
const createImage = () => api<string>('POST', '/images', { name: `long-${process.pid}-${names++}` });

/**
 * Uploads `parts` parts of `partSize` bytes, each a random block stamped with
 * its part number (so no two parts are equal), two at a time; returns the sha1.
 */
async function upload(image: string, parts: number, partSize: number): Promise<{ session: SessionView; sha1: string }> {
  const session = await api<SessionView>('PUT', `/image/${image}/content`, { size: parts * partSize, part_size: partSize, fmt: 'raw' });
  const urls = session.parts ?? [];
  expect(urls).toHaveLength(parts);
  // One buffer per sender, stamped with the part number before each send; the sha1 is taken in part order.
  const base = randomBytes(partSize);
  const partData = (n: number, into: Buffer) => {
    base.copy(into);
    into.writeUInt32BE(n, 0);
    return into;
  };
  const sha1 = createHash('sha1');
  const scratch = Buffer.alloc(partSize);
  for (const { part_number } of urls) sha1.update(partData(part_number, scratch));
  const done: { part_number: number; etag: string }[] = [];
  let next = 0;
  const sender = async () => {
    const buffer = Buffer.alloc(partSize);
    while (next < urls.length) {
      const { part_number, url } = urls[next++]!;
      const res = await fetch(url, { method: 'PUT', body: partData(part_number, buffer) });
      await res.arrayBuffer();
      expect(res.status).toBe(200);
      done.push({ part_number, etag: res.headers.get('etag') ?? '' });
    }
  };
  await Promise.all([sender(), sender()]);
  done.sort((a, b) => a.part_number - b.part_number);
  await api('POST', `/image/${image}/content/upload/${session.upload_id}`, { parts: done });
  return { session, sha1: sha1.digest('hex') };
}

/** Polls the session until it leaves `hashing`; records the progress it showed on the way. */
async function waitFinal(image: string, uploadId: string, timeoutMs: number) {
  const seen: number[] = [];
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const s = await api<SessionView>('GET', `/image/${image}/content/upload/${uploadId}`);
    if (s.state !== 'hashing') return { session: s, progress: seen };
    if (s.hashed !== undefined && s.hashed !== seen.at(-1)) seen.push(s.hashed);
    if (Date.now() > deadline) throw new Error(`upload ${uploadId} still hashing after ${timeoutMs} ms (at ${seen.at(-1)})`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

describe('a hasher with a 2-second deadline', () => {
  it('hashes a 2 GiB upload correctly across several invocations, showing progress', async () => {
    const image = await createImage();
    const { session, sha1 } = await upload(image, 32, 64 * MIB);
    const runsBefore = stack.lambda.runs(HASHER);
    const { session: final, progress } = await waitFinal(image, session.upload_id, 900_000);
    expect(final.state).toBe('ready');
    expect(final.reason).toBeUndefined();
    const info = await api<{ chksum: string; size: number }>('GET', `/image/${image}/content/info`);
    expect(info).toMatchObject({ chksum: `sha1:${sha1}`, size: 2048 * MIB });
    expect(stack.lambda.runs(HASHER) - runsBefore).toBeGreaterThan(2);
    // Progress only grows, and showed the hash part-way.
    expect(progress).toEqual([...progress].sort((a, b) => a - b));
    expect(progress.some((p) => p > 0 && p < 2048 * MIB)).toBe(true);
  }, 1_200_000);

  it('re-drives an upload whose S3 event was lost', async () => {
    const image = await createImage();
    stack.lambda.dropEvents(HASHER, 1);
    const { session, sha1 } = await upload(image, 1, 5 * MIB);
    const { session: final } = await waitFinal(image, session.upload_id, 120_000);
    expect(final.state).toBe('ready');
    expect(final.reason).toBeUndefined();
    const info = await api<{ chksum: string }>('GET', `/image/${image}/content/info`);
    expect(info.chksum).toBe(`sha1:${sha1}`);
  });

  it(`fails a session whose runs are all lost, after ${MAX_REDRIVES} re-drives, with the reason`, async () => {
    const image = await createImage();
    stack.lambda.dropEvents(HASHER, Number.MAX_SAFE_INTEGER);
    try {
      const { session } = await upload(image, 1, 5 * MIB);
      const { session: final } = await waitFinal(image, session.upload_id, 120_000);
      expect(final).toMatchObject({
        state: 'failed',
        reason: expect.stringContaining(`did not finish this upload after ${MAX_REDRIVES} re-drives`),
      });
    } finally {
      stack.lambda.dropEvents(HASHER, 0);
    }
    // The image keeps no content from it.
    const res = await fetch(`${stack.apiUrl}/image/${image}/content/info`, { headers: { authorization: `Bearer ${token}` } });
    expect(res.status).toBe(404);
  });
});
