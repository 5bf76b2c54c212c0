/**
 * Removes a file nobody refers to any more. Three steps, each safe to repeat:
 * mark the item `deleting` (only at refcnt 0, and from then on no clone can
 * take a reference), delete the object, delete the item. A crash between
 * steps leaves a `deleting` item that the next call finishes.
 */
import { DeleteCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { ddb } from '../clients.js';
import { config } from '../config.js';
import { keys } from '../db/schema.js';
import { contentKey } from './model.js';
import { deleteObject } from './storage.js';

/** Returns true when the file was (or already had been) removed. */
export async function collectFile(uid: string): Promise<boolean> {
  try {
    await ddb().send(
      new UpdateCommand({
        TableName: config.tableName,
        Key: keys.file(uid),
        UpdateExpression: 'SET #state = :deleting',
        ConditionExpression: 'attribute_exists(pk) AND #refcnt = :zero',
        ExpressionAttributeNames: { '#state': 'state', '#refcnt': 'refcnt' },
        ExpressionAttributeValues: { ':deleting': 'deleting', ':zero': 0 },
      }),
    );
  } catch (error) {
    // Still referenced, or already gone: nothing to collect.
    if (error instanceof ConditionalCheckFailedException) return false;
    throw error;
  }
  await deleteObject(contentKey(uid));
  await ddb().send(
    new DeleteCommand({
      TableName: config.tableName,
      Key: keys.file(uid),
      ConditionExpression: '#state = :deleting',
      ExpressionAttributeNames: { '#state': 'state' },
      ExpressionAttributeValues: { ':deleting': 'deleting' },
    }),
  ).catch((error: unknown) => {
    if (!(error instanceof ConditionalCheckFailedException)) throw error;
  });
  return true;
}
