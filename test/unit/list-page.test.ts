/**
 * A page of images must fit Lambda's 6 MB response: 1,000 records with long
 * descriptions (JSON escapes control characters six-fold) would not. The
 * page ends early and its cursor resumes right after the last record served.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeAll, describe, expect, it } from 'vitest';
import { apiEvent, context, route } from './events.js';
import { recordsHandler } from './fixtures.js';
import { IMAGES_PARTITION, keys } from '../../functions/core/db/schema.js';
import { LAMBDA_MAX_RESPONSE_BYTES, lambdaPayloadBytes } from '../../functions/http/envelope.js';

const ddbMock = mockClient(DynamoDBDocumentClient);
mockClient(DynamoDBClient);

let records: typeof import('../../functions/records.js').handler;

beforeAll(async () => {
  records = await recordsHandler();
});

const item = (i: number, description = '\u0001'.repeat(4096)) => {
  const uid = i.toString(16).padStart(32, '0');
  const name = `img-${String(i).padStart(4, '0')}`;
  return {
    ...keys.image(uid),
    gsi1pk: IMAGES_PARTITION,
    gsi1sk: name,
    kind: 'image',
    uid,
    name,
    description,
    frozen: false,
    last_modified: 1,
    last_modified_by: 'a',
    last_modified_on: 'eu-west-1',
    version: 1,
  };
};

describe('GET /images?limit=1000 with long descriptions', () => {
  // Control characters grow seven-fold once escaped twice; '€' is three bytes in UTF-8 but one character.
  it.each([
    ['control characters', '\u0001'.repeat(4096)],
    ['non-ASCII text', '€'.repeat(4096)],
    ['quotes and backslashes', '"\\'.repeat(2048)],
  ])('of %s stops before 6 MB as Lambda counts it, with a cursor just after the last record served', async (_, description) => {
    ddbMock.reset();
    ddbMock.on(QueryCommand).resolves({ Items: Array.from({ length: 1001 }, (_, i) => item(i, description)) });
    const event = apiEvent(route('GET', '/images'), { admin: false });
    event.queryStringParameters = { limit: '1000' };
    const result = await records(event, context());
    expect(result.statusCode).toBe(200);
    expect(lambdaPayloadBytes(result)).toBeLessThan(LAMBDA_MAX_RESPONSE_BYTES);
    const body = JSON.parse(result.body ?? '{}') as { data: Record<string, { name: string }>; next: string };
    const names = Object.values(body.data).map((r) => r.name);
    expect(names.length).toBeGreaterThan(100);
    expect(names.length).toBeLessThan(1000);
    const cursor = JSON.parse(Buffer.from(body.next, 'base64url').toString()) as { gsi1sk: string };
    expect(cursor.gsi1sk).toBe(names[names.length - 1]);
    // The page is full: one more record would have crossed the budget.
    expect(lambdaPayloadBytes(result)).toBeGreaterThan(LAMBDA_MAX_RESPONSE_BYTES - 1024 * 1024 - 40_000);
  });
});
