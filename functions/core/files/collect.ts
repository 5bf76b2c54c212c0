/**
 * Removes a file nobody refers to any more. Three steps, each safe to repeat:
 * mark the item `deleting` (only at refcnt 0, and from then on no clone can
 * take a reference), delete the object, delete the item. A crash between
 * steps leaves a `deleting` item that the next call finishes. The checksum
 * index entry goes with the object, if it still names this file.
 */
import { DeleteCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { ddb } from '../clients.js';
import { config } from '../config.js';
import { outputIf, writtenIf } from '../db/conditional.js';
import { keys } from '../db/schema.js';
import { contentKey, type FileItem } from './model.js';
import { sha1Of } from './repository.js';
import { deleteObject } from './storage.js';

/** Returns true when the file was (or already had been) removed. */
export async function collectFile(uid: string): Promise<boolean> {
  const out = await outputIf(
    ddb().send(
      new UpdateCommand({
        TableName: config.tableName,
        Key: keys.file(uid),
        UpdateExpression: 'SET #state = :deleting',
        ConditionExpression: 'attribute_exists(pk) AND #refcnt = :zero',
        ExpressionAttributeNames: { '#state': 'state', '#refcnt': 'refcnt' },
        ExpressionAttributeValues: { ':deleting': 'deleting', ':zero': 0 },
        ReturnValues: 'ALL_NEW',
      }),
    ),
  );
  // Still referenced, or already gone: nothing to collect.
  if (!out) return false;
  const file = out.Attributes as FileItem;
  await deleteObject(contentKey(uid));
  // Identical uploads no longer find this file; an entry another file took since is left alone.
  await writtenIf(
    ddb().send(
      new DeleteCommand({
        TableName: config.tableName,
        Key: keys.chksum(sha1Of(file), file.size),
        ConditionExpression: '#file = :uid',
        ExpressionAttributeNames: { '#file': 'file_uid' },
        ExpressionAttributeValues: { ':uid': uid },
      }),
    ),
  );
  await writtenIf(
    ddb().send(
      new DeleteCommand({
        TableName: config.tableName,
        Key: keys.file(uid),
        ConditionExpression: '#state = :deleting',
        ExpressionAttributeNames: { '#state': 'state' },
        ExpressionAttributeValues: { ':deleting': 'deleting' },
      }),
    ),
  );
  return true;
}
