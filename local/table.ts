/**
 * Creates the service's table in DynamoDB Local when it is missing, with the
 * same keys, index and TTL attribute as the CDK stack declares.
 */
import {
  CreateTableCommand,
  DescribeTableCommand,
  type DynamoDBClient,
  ResourceInUseException,
  ResourceNotFoundException,
  TransactionCanceledException,
  UpdateTimeToLiveCommand,
} from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, TransactWriteCommand } from '@aws-sdk/lib-dynamodb';
import { defaultImageItems } from '../functions/core/db/default-image.js';
import { TABLE_SCHEMA } from '../functions/core/db/schema.js';
import { newUid } from '../functions/core/ids.js';

const { partitionKey, byNameIndex, byNamePartitionKey, byNameSortKey } = TABLE_SCHEMA;
export const TTL_ATTRIBUTE = TABLE_SCHEMA.ttlAttribute;

/** Returns true when it created the table: a new data directory. */
export async function ensureTable(client: DynamoDBClient, tableName: string): Promise<boolean> {
  try {
    await client.send(new DescribeTableCommand({ TableName: tableName }));
    return false;
  } catch (error) {
    if (!(error instanceof ResourceNotFoundException)) throw error;
  }
  try {
    await client.send(
      new CreateTableCommand({
        TableName: tableName,
        BillingMode: 'PAY_PER_REQUEST',
        AttributeDefinitions: [
          { AttributeName: partitionKey, AttributeType: 'S' },
          { AttributeName: byNamePartitionKey, AttributeType: 'S' },
          { AttributeName: byNameSortKey, AttributeType: 'S' },
        ],
        KeySchema: [{ AttributeName: partitionKey, KeyType: 'HASH' }],
        GlobalSecondaryIndexes: [
          {
            IndexName: byNameIndex,
            KeySchema: [
              { AttributeName: byNamePartitionKey, KeyType: 'HASH' },
              { AttributeName: byNameSortKey, KeyType: 'RANGE' },
            ],
            Projection: { ProjectionType: 'ALL' },
          },
        ],
      }),
    );
  } catch (error) {
    if (!(error instanceof ResourceInUseException)) throw error;
    return false;
  }
  await client.send(
    new UpdateTimeToLiveCommand({
      TableName: tableName,
      TimeToLiveSpecification: { AttributeName: TTL_ATTRIBUTE, Enabled: true },
    }),
  );
  return true;
}

/**
 * Puts DefaultImage (functions/core/db/default-image.ts): its record and name
 * guard in one transaction, each only where its key is free, so an existing
 * DefaultImage (or another image of that name) is left as it is.
 */
export async function createDefaultImage(client: DynamoDBClient, tableName: string): Promise<void> {
  const { image, name } = defaultImageItems(newUid(), Date.now() / 1000, 'install', 'local');
  const free = 'attribute_not_exists(pk)';
  try {
    await DynamoDBDocumentClient.from(client).send(
      new TransactWriteCommand({
        TransactItems: [
          { Put: { TableName: tableName, Item: image, ConditionExpression: free } },
          { Put: { TableName: tableName, Item: name, ConditionExpression: free } },
        ],
      }),
    );
  } catch (error) {
    if (!(error instanceof TransactionCanceledException)) throw error;
  }
}
