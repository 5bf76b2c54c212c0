/**
 * The API's local containers (local/api-functions.ts): a function bundled
 * from its source and run in worker threads, requests spread over the
 * containers, API Gateway's answer to a run past its deadline, and a crashed
 * container replaced. The handler here is a small stand-in so that each of
 * these can be provoked on purpose; test/integration runs the real ones.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ApiEvent } from '../../functions/http/api-handler.js';
import { type ApiFunctions, IntegrationTimedOut, startApiFunctions } from '../../local/api-functions.js';
import { RunFailed } from '../../local/function-worker.js';

const HANDLER = `
import { threadId } from 'node:worker_threads';
export const handler = async (event, context) => {
  const order = JSON.parse(event.body ?? '{}');
  if (order.sleepMs) await new Promise((r) => setTimeout(r, order.sleepMs));
  if (order.exit) process.exit(1);
  if (order.fail) throw new Error('the handler failed');
  return {
    statusCode: 200,
    body: JSON.stringify({ thread: threadId, fn: context.functionName, leftMs: context.getRemainingTimeInMillis(), path: event.rawPath }),
  };
};
`;

let dir: string;
let api: ApiFunctions;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'image-service-api-functions-'));
  const entry = join(dir, 'handler.mjs');
  writeFileSync(entry, HANDLER);
  api = await startApiFunctions({
    buildDir: join(dir, 'build'),
    functions: { records: { entry, name: 'test-records' }, content: { entry, name: 'test-content' } },
    containers: 2,
    log: () => undefined,
  });
});

afterAll(async () => {
  await api?.stop();
  rmSync(dir, { recursive: true, force: true });
});

const event = (order: object = {}, path = '/api/v1/images'): ApiEvent =>
  ({ rawPath: path, body: JSON.stringify(order) }) as unknown as ApiEvent;

interface Answer {
  thread: number;
  fn: string;
  leftMs: number;
  path: string;
}
const answerOf = (result: { body?: string }): Answer => JSON.parse(result.body ?? '{}') as Answer;

describe('the API functions in local containers', () => {
  it("runs the function's handler with the event and a context carrying its name and deadline", async () => {
    const result = await api.invoke('content', event({}, '/api/v1/image/x/content'), Date.now() + 10_000);
    expect(result.statusCode).toBe(200);
    const answer = answerOf(result);
    expect(answer.fn).toBe('test-content');
    expect(answer.path).toBe('/api/v1/image/x/content');
    expect(answer.leftMs).toBeGreaterThan(5_000);
    expect(answer.leftMs).toBeLessThanOrEqual(10_000);
  });

  it('spreads requests in flight over the containers', async () => {
    const answers = await Promise.all(
      Array.from({ length: 6 }, () => api.invoke('records', event({ sleepMs: 100 }), Date.now() + 10_000).then(answerOf)),
    );
    expect(new Set(answers.map((a) => a.thread)).size).toBe(2);
  });

  it('answers a run past its deadline as API Gateway does, and the container goes on serving', async () => {
    await expect(api.invoke('records', event({ sleepMs: 2_000 }), Date.now() + 100)).rejects.toBeInstanceOf(IntegrationTimedOut);
    expect((await api.invoke('records', event(), Date.now() + 10_000)).statusCode).toBe(200);
  });

  it("fails a run whose handler throws, with the handler's error", async () => {
    const failed = api.invoke('records', event({ fail: true }), Date.now() + 10_000);
    await expect(failed).rejects.toBeInstanceOf(RunFailed);
    await expect(failed).rejects.toThrow('the handler failed');
  });

  it('replaces a container that died, and no request is lost to it afterwards', async () => {
    await expect(api.invoke('content', event({ exit: true }), Date.now() + 10_000)).rejects.toThrow('the run ended without an answer');
    const answers = await Promise.all(
      Array.from({ length: 8 }, () => api.invoke('content', event({ sleepMs: 50 }), Date.now() + 10_000).then(answerOf)),
    );
    expect(answers.every((a) => a.fn === 'test-content')).toBe(true);
    // The replacement serves too: two containers again.
    for (let i = 0; i < 50; i++) {
      const more = await Promise.all(
        Array.from({ length: 4 }, () => api.invoke('content', event({ sleepMs: 50 }), Date.now() + 10_000).then(answerOf)),
      );
      if (new Set(more.map((a) => a.thread)).size === 2) return;
    }
    throw new Error('the dead container was not replaced');
  });
});
