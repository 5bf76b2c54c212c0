/**
 * The byName index also holds small work lists, each in a partition of its
 * own (released files, uploads being hashed). This walks one, page by page.
 */
import { QueryCommand } from '@aws-sdk/lib-dynamodb';
import { ddb } from '../clients.js';
import { config } from '../config.js';
import { BY_NAME_INDEX } from './schema.js';

/** Items of `partition`, optionally only those whose sort key is below `before`. */
export async function* partitionItems(partition: string, before?: string): AsyncGenerator<Record<string, unknown>> {
  let start: Record<string, unknown> | undefined;
  do {
    const page = await ddb().send(
      new QueryCommand({
        TableName: config.tableName,
        IndexName: BY_NAME_INDEX,
        KeyConditionExpression: before === undefined ? '#p = :p' : '#p = :p AND #s < :before',
        ExpressionAttributeNames: { '#p': 'gsi1pk', ...(before === undefined ? {} : { '#s': 'gsi1sk' }) },
        ExpressionAttributeValues: { ':p': partition, ...(before === undefined ? {} : { ':before': before }) },
        ...(start ? { ExclusiveStartKey: start } : {}),
      }),
    );
    yield* page.Items ?? [];
    start = page.LastEvaluatedKey;
  } while (start);
}
