import { GetCommand, PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { ddb } from '../clients.js';
import { config } from '../config.js';
import { HASHING_UPLOADS_PARTITION, keys } from '../db/schema.js';
import type { Write } from '../db/transact.js';
import { sortableMs, type UploadItem, type UploadState } from './model.js';

type TransitionSet = Partial<Pick<UploadItem, 'reason' | 'completed_at' | 'replaced_file' | 'sha1' | 'expires_at'>>;

export async function getUpload(id: string): Promise<UploadItem | undefined> {
  const out = await ddb().send(new GetCommand({ TableName: config.tableName, Key: keys.upload(id), ConsistentRead: true }));
  return out.Item as UploadItem | undefined;
}

export async function putUpload(item: UploadItem): Promise<void> {
  await ddb().send(
    new PutCommand({ TableName: config.tableName, Item: item, ConditionExpression: 'attribute_not_exists(pk)' }),
  );
}

/**
 * Moves a session from one state to another; false when it was not in `from`
 * (another request or event got there first).
 */
export async function transition(
  id: string,
  from: UploadState,
  to: UploadState,
  set: TransitionSet = {},
  remove: ('reason' | 'completed_at' | 'sha1')[] = [],
): Promise<boolean> {
  try {
    await ddb().send(new UpdateCommand({ TableName: config.tableName, ...transitionUpdate(id, from, to, set, remove) }));
    return true;
  } catch (error) {
    if (error instanceof ConditionalCheckFailedException) return false;
    throw error;
  }
}

export const transitionWrite = (id: string, from: UploadState, to: UploadState, set: TransitionSet = {}): Write => ({
  Update: transitionUpdate(id, from, to, set, []),
});

function transitionUpdate(
  id: string,
  from: UploadState,
  to: UploadState,
  set: TransitionSet,
  remove: string[],
) {
  const names: Record<string, string> = { '#state': 'state' };
  const values: Record<string, unknown> = { ':from': from, ':to': to };
  const sets = ['#state = :to'];
  for (const [k, v] of Object.entries(set)) {
    names[`#${k}`] = k;
    values[`:${k}`] = v;
    sets.push(`#${k} = :${k}`);
  }
  // While hashing, a session is listed in the byName index's hashing partition, by the
  // time it entered it, so the sweeper can find one whose hasher never finished.
  const removed = from === 'hashing' && to !== 'hashing' ? [...remove, 'gsi1pk', 'gsi1sk'] : remove;
  if (to === 'hashing') {
    names['#gpk'] = 'gsi1pk';
    names['#gsk'] = 'gsi1sk';
    values[':hashing'] = HASHING_UPLOADS_PARTITION;
    values[':since'] = sortableMs(Date.now());
    sets.push('#gpk = :hashing', '#gsk = :since');
  }
  for (const k of removed) names[`#${k}`] = k;
  return {
    Key: keys.upload(id),
    UpdateExpression: `SET ${sets.join(', ')}${removed.length > 0 ? ` REMOVE ${removed.map((k) => `#${k}`).join(', ')}` : ''}`,
    ConditionExpression: '#state = :from',
    ExpressionAttributeNames: names,
    ExpressionAttributeValues: values,
  };
}
