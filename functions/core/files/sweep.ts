/**
 * The sweeper: finishes what a failed clean-up left behind. Every file whose
 * reference was released sits in the byName index's released partition until
 * it is collected or referenced again; here each one is either collected
 * (refcnt 0) or taken out of the partition (still referenced).
 */
import { UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { ddb } from '../clients.js';
import { config } from '../config.js';
import { keys, RELEASED_FILES_PARTITION } from '../db/schema.js';
import { partitionItems } from '../db/partition.js';
import { collectFile } from './collect.js';
import { writtenIf } from '../db/conditional.js';

export interface FileSweep {
  collected: number;
  stillReferenced: number;
  failed: { uid: string; error: string }[];
}

export async function sweepReleasedFiles(): Promise<FileSweep> {
  const result: FileSweep = { collected: 0, stillReferenced: 0, failed: [] };
  for await (const item of partitionItems(RELEASED_FILES_PARTITION)) {
    const uid = String(item['uid']);
    try {
      if (await collectFile(uid)) result.collected++;
      else if (await unlist(uid)) result.stillReferenced++;
    } catch (error) {
      result.failed.push({ uid, error: error instanceof Error ? error.message : String(error) });
    }
  }
  return result;
}

/** A file that is referenced again leaves the released partition. */
async function unlist(uid: string): Promise<boolean> {
  return writtenIf(
    ddb().send(
      new UpdateCommand({
        TableName: config.tableName,
        Key: keys.file(uid),
        UpdateExpression: 'REMOVE #gpk, #gsk',
        ConditionExpression: '#refcnt > :zero',
        ExpressionAttributeNames: { '#gpk': 'gsi1pk', '#gsk': 'gsi1sk', '#refcnt': 'refcnt' },
        ExpressionAttributeValues: { ':zero': 0 },
      }),
    ),
  );
}
