/** Direct reads of the local stack's table, for checking invariants behind the API. */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, ScanCommand } from '@aws-sdk/lib-dynamodb';
import { PREFIX } from '../../functions/core/db/schema.js';
import { stack } from './api.js';

let client: DynamoDBDocumentClient | undefined;

export function table(): DynamoDBDocumentClient {
  client ??= DynamoDBDocumentClient.from(
    new DynamoDBClient({
      endpoint: stack().dynamodbEndpoint,
      region: 'us-east-1',
      credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    }),
  );
  return client;
}

export type Item = Record<string, unknown> & { pk: string };

export async function scanAll(): Promise<Item[]> {
  const items: Item[] = [];
  let start: Record<string, unknown> | undefined;
  do {
    const out = await table().send(new ScanCommand({ TableName: stack().tableName, ConsistentRead: true, ExclusiveStartKey: start }));
    items.push(...((out.Items ?? []) as Item[]));
    start = out.LastEvaluatedKey;
  } while (start);
  return items;
}

/** Every name guard points at an image of that name, and every image has its guard. */
export async function nameGuardViolations(): Promise<string[]> {
  const items = await scanAll();
  const images = new Map(items.filter((i) => i.pk.startsWith(PREFIX.image)).map((i) => [i['uid'] as string, i]));
  const guards = items.filter((i) => i.pk.startsWith(PREFIX.name));
  const problems: string[] = [];
  for (const g of guards) {
    const name = g.pk.slice(PREFIX.name.length);
    const image = images.get(g['uid'] as string);
    if (!image) problems.push(`guard ${name} points at missing image ${String(g['uid'])}`);
    else if (image['name'] !== name) problems.push(`guard ${name} points at image named ${String(image['name'])}`);
  }
  const guarded = new Set(guards.map((g) => g.pk.slice(PREFIX.name.length)));
  for (const image of images.values()) {
    if (!guarded.has(image['name'] as string)) problems.push(`image ${String(image['name'])} has no name guard`);
  }
  return problems;
}
