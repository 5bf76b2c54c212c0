import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { ddb } from '../clients.js';
import { config } from '../config.js';
import { keys, RELEASED_FILES_PARTITION, type ChecksumItem } from '../db/schema.js';
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

/**
 * The live file holding exactly these bytes, if the checksum index names one
 * that can still be shared; otherwise the uid of the file a stale index entry
 * names (gone, or on its way out), which `claimChecksum` may replace.
 */
export async function findFileWithBytes(sha1: string, size: number): Promise<{ file?: FileItem; stale?: string }> {
  const out = await ddb().send(new GetCommand({ TableName: config.tableName, Key: keys.chksum(sha1, size), ConsistentRead: true }));
  const index = out.Item as ChecksumItem | undefined;
  if (!index) return {};
  const file = await getFileItem(index.file_uid);
  if (file && file.state === 'live' && file.refcnt > 0) return { file };
  return { stale: index.file_uid };
}

/**
 * Names `uid` as the file with these bytes; goes in the transaction that
 * creates the file. Fails if another file took the entry since it was read
 * (absent, or naming `stale`).
 */
export const claimChecksum = (sha1: string, size: number, uid: string, stale?: string): Write => {
  const item: ChecksumItem = { ...keys.chksum(sha1, size), kind: 'chksum', file_uid: uid };
  return stale === undefined
    ? { Put: { Item: item, ConditionExpression: 'attribute_not_exists(pk)' } }
    : {
        Put: {
          Item: item,
          ConditionExpression: 'attribute_not_exists(pk) OR #file = :stale',
          ExpressionAttributeNames: { '#file': 'file_uid' },
          ExpressionAttributeValues: { ':stale': stale },
        },
      };
};

/** The hex sha1 of a file's `sha1:<hex>` chksum. */
export const sha1Of = (file: Pick<FileItem, 'chksum'>): string => file.chksum.replace(/^sha1:/, '');
