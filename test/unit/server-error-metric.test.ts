/**
 * Failures the error middleware turns into envelopes must still alarm: every
 * 5xx it answers is published as the ServerErrors metric (embedded metric
 * format on stdout, which CloudWatch turns into a metric), in the namespace
 * and with the service dimension the stack configures. A 4xx is the client's
 * and is not counted.
 */
import { DynamoDBClient, ThrottlingException } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, GetCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { apiEvent, context, route } from './events.js';
import { useHandlerEnv } from './fixtures.js';

const ddbMock = mockClient(DynamoDBDocumentClient);
mockClient(DynamoDBClient);

let records: typeof import('../../functions/records.js').handler;
let written: string[] = [];

beforeAll(async () => {
  useHandlerEnv({
    // What the stack sets from its context (infra/constructs/service-function.ts).
    POWERTOOLS_SERVICE_NAME: 'boot-images',
    POWERTOOLS_METRICS_NAMESPACE: 'Cluster/BootImages',
    POWERTOOLS_METRICS_DISABLED: 'false',
  });
  delete process.env['POWERTOOLS_DEV'];
  ({ handler: records } = await import('../../functions/records.js'));
});

beforeEach(() => {
  ddbMock.reset();
  written = [];
  vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    written.push(String(chunk));
    return true;
  });
});
afterEach(() => vi.restoreAllMocks());

interface Emf {
  _aws: { CloudWatchMetrics: { Namespace: string; Dimensions: string[][]; Metrics: { Name: string; Unit: string }[] }[] };
  [key: string]: unknown;
}
const emf = (): Emf[] =>
  written
    .flatMap((w) => w.split('\n'))
    .filter((line) => line.includes('"_aws"'))
    .map((line) => JSON.parse(line) as Emf);

const uid = '0123456789abcdef0123456789abcdef';
const get = () => records(apiEvent(route('GET', '/image/{id}'), { params: { id: uid } }), context());

describe('ServerErrors metric', () => {
  it.each([
    ['an unhandled error (500)', new Error('socket hang up'), 500],
    ['AWS throttling (503)', new ThrottlingException({ message: 'Rate exceeded', $metadata: {} }), 503],
  ])('counts %s once, in the configured namespace and service', async (_, error, status) => {
    ddbMock.on(GetCommand).rejects(error);
    expect((await get()).statusCode).toBe(status);
    const lines = emf();
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({ service: 'boot-images', ServerErrors: 1 });
    expect(lines[0]?._aws.CloudWatchMetrics[0]).toMatchObject({
      Namespace: 'Cluster/BootImages',
      Dimensions: [['service']],
      Metrics: [{ Name: 'ServerErrors', Unit: 'Count' }],
    });
  });

  it('does not count a 4xx', async () => {
    ddbMock.on(GetCommand).resolves({});
    expect((await get()).statusCode).toBe(404);
    expect(emf()).toEqual([]);
  });
});
