/**
 * The local gateway on a capture route: the capture authorizer's context
 * reaches the function as `requestContext.authorizer.lambda`, every field of
 * it, as API Gateway hands a simple response's context on.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CaptureAuthorizerEvent } from '../../functions/capture-authorizer.js';
import type { CaptureContext } from '../../functions/core/capture/authorize.js';
import type { ApiEvent } from '../../functions/http/api-handler.js';
import { API_BASE } from '../../functions/routes.js';
import { createGateway } from '../../local/gateway.js';
import { loadOrCreateKeys } from '../../local/tokens.js';

const captureId = '0123456789abcdef0123456789abcdef';
const context: CaptureContext = {
  capture_id: captureId,
  image_uid: 'fedcba9876543210fedcba9876543210',
  created_by: 'admin1',
  created_on: 'local',
  upload_id: 'aaaabbbbccccddddeeeeffff00001111',
};

let dir: string;
let url: string;
let close: () => Promise<void>;
const asked: CaptureAuthorizerEvent[] = [];
const invoked: ApiEvent[] = [];

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'gateway-capture-'));
  const server = createGateway({
    keys: await loadOrCreateKeys(dir),
    invoke: async (_fn, event) => {
      invoked.push(event);
      return { statusCode: 200, body: '{}' };
    },
    captureAuthorizer: async (event) => {
      asked.push(event);
      return { isAuthorized: true, context };
    },
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}${API_BASE}`;
  close = () => new Promise((resolve) => server.close(() => resolve()));
});

afterAll(async () => {
  await close?.();
  await rm(dir, { recursive: true, force: true });
});

describe('the local gateway on a capture route', () => {
  it("hands the function the authorizer's whole context", async () => {
    const res = await fetch(`${url}/capture/${captureId}/content`, {
      method: 'PUT',
      headers: { authorization: `Capture ${captureId}.secret`, 'content-type': 'application/json' },
      body: '{"size":1}',
    });
    expect(res.status).toBe(200);
    expect(asked).toEqual([
      {
        routeKey: `PUT ${API_BASE}/capture/{capture_id}/content`,
        headers: { authorization: `Capture ${captureId}.secret` },
        pathParameters: { capture_id: captureId },
      },
    ]);
    expect(invoked).toHaveLength(1);
    expect(invoked[0]?.requestContext.authorizer).toEqual({ lambda: context });
  });
});
