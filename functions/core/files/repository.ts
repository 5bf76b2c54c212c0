import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { ddb } from '../clients.js';
import { config } from '../config.js';
import { keys, RELEASED_FILES_PARTITION } from '../db/schema.js';
import type { Write } from '../db/transact.js';
import type { FileItem } from './model.js';

export async function getFileItem(uid: string): Promise<FileItem | undefined> {
  const out = await ddb().send(new GetCommand({ TableName: config.tableName, Key: keys.file(uid), ConsistentRead: true }));
  return out.Item as FileItem | undefined;
}

/** One more image refers to the file; fails if the file is already being released. */
export const retainFile = (uid: string): Write => ({
  Update: {
    Key: keys.file(uid),
    UpdateExpression: 'SET #refcnt = #refcnt + :one REMOVE #gpk, #gsk',
    ConditionExpression: 'attribute_exists(pk) AND #refcnt > :zero AND #state = :live',
    ExpressionAttributeNames: { '#refcnt': 'refcnt', '#state': 'state', '#gpk': 'gsi1pk', '#gsk': 'gsi1sk' },
    ExpressionAttributeValues: { ':one': 1, ':zero': 0, ':live': 'live' },
  },
});

/**
 * One image fewer refers to the file; at 0 it is collected (files/collect.ts).
 * The write can't know whether this was the last reference, so it files the
 * file under the released partition, where the sweeper looks if the
 * collection that should follow never finished.
 */
export const releaseFile = (uid: string): Write => ({
  Update: {
    Key: keys.file(uid),
    UpdateExpression: 'SET #refcnt = #refcnt - :one, #gpk = :released, #gsk = :uid',
    ConditionExpression: 'attribute_exists(pk) AND #refcnt > :zero',
    ExpressionAttributeNames: { '#refcnt': 'refcnt', '#gpk': 'gsi1pk', '#gsk': 'gsi1sk' },
    ExpressionAttributeValues: { ':one': 1, ':zero': 0, ':released': RELEASED_FILES_PARTITION, ':uid': uid },
  },
});
