/**
 * A dependency that is really gone: the records handler, run in this process
 * with its DynamoDB endpoint at a closed port, at a server that hangs up on
 * every connection, or at one that accepts connections and never answers,
 * answers 503 with Retry-After once the SDK's own retries are spent. The last
 * one ends only through the clients' timeouts (functions/core/clients.ts),
 * shortened here; without them the request would hang. Nothing here touches
 * the shared stack.
 */
import { createServer, type Server, type Socket } from 'node:net';
import { afterAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { useLocalHandlerEnvironment } from '../../local/handler-env.js';
import { apiEvent, context, route } from '../unit/events.js';

const listen = (server: Server): Promise<number> =>
  new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve((server.address() as { port: number }).port)));
const close = (server: Server): Promise<void> => new Promise((resolve) => server.close(() => resolve()));

/** A port nothing listens on: bound once by us, then released. */
async function closedPort(): Promise<number> {
  const server = createServer();
  const port = await listen(server);
  await close(server);
  return port;
}

const hangUp = createServer((socket) => socket.destroy());
/** Accepts every connection, reads the request, and never answers. */
const stalled = new Set<Socket>();
const silent = createServer((socket) => {
  stalled.add(socket);
  socket.resume();
  socket.once('close', () => stalled.delete(socket));
});
afterAll(async () => {
  for (const socket of stalled) socket.destroy();
  await Promise.all([close(hangUp), close(silent)]);
});

/** Short SDK timeouts, so that a silent dependency fails fast in this test. */
const TIMEOUTS = { AWS_CONNECT_TIMEOUT_MS: '500', AWS_REQUEST_TIMEOUT_MS: '300' };

async function recordsAt(dynamodbEndpoint: string) {
  useLocalHandlerEnvironment(
    { dynamodbEndpoint, s3Endpoint: dynamodbEndpoint, tableName: 'images', bucket: 'content' },
    { POWERTOOLS_LOG_LEVEL: 'SILENT', ...TIMEOUTS },
  );
  // Fresh modules: the SDK clients and the configuration are read once per module instance.
  const { handler } = await import('../../functions/records.js');
  return handler;
}

beforeEach(() => {
  vi.resetModules();
});

describe('DynamoDB unreachable', () => {
  const expected = {
    status: 503,
    body: { success: false, reason: 'a service this API depends on is unreachable right now; retry in 2 seconds' },
  };

  it.each([
    ['refuses connections', async () => `http://127.0.0.1:${await closedPort()}`],
    ['hangs up on every connection', async () => `http://127.0.0.1:${await listen(hangUp)}`],
    ['accepts connections and never answers', async () => `http://127.0.0.1:${await listen(silent)}`],
  ])('%s: reads and writes answer 503 with Retry-After', async (_, endpoint) => {
    const records = await recordsAt(await endpoint());
    for (const event of [
      apiEvent(route('GET', '/image/{id}'), { params: { id: 'base' } }),
      apiEvent(route('GET', '/images')),
      apiEvent(route('POST', '/images'), { body: { name: 'fresh' } }),
    ]) {
      const result = await records(event, context());
      expect({ status: result.statusCode, body: JSON.parse(result.body ?? '{}') as unknown }).toEqual(expected);
      expect(result.headers?.['retry-after']).toBe('2');
    }
  });
});
