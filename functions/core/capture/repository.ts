/** Capture job items (`CAPTURE#<id>`) and the image's list of them in the byName index. */
import { GetCommand, PutCommand, UpdateCommand, type UpdateCommandInput } from '@aws-sdk/lib-dynamodb';
import { ddb } from '../clients.js';
import { config } from '../config.js';
import { partitionItems } from '../db/partition.js';
import { capturesPartition, keys, type CaptureItem, type CaptureState } from '../db/schema.js';
import { outputIf, writtenIf } from '../db/conditional.js';

export async function getCapture(id: string): Promise<CaptureItem | undefined> {
  const out = await ddb().send(new GetCommand({ TableName: config.tableName, Key: keys.capture(id), ConsistentRead: true }));
  return out.Item as CaptureItem | undefined;
}

export async function putCapture(item: CaptureItem): Promise<void> {
  await ddb().send(new PutCommand({ TableName: config.tableName, Item: item, ConditionExpression: 'attribute_not_exists(pk)' }));
}

/** The image's jobs, oldest first (the index is eventually consistent on AWS: a job just created may show a moment later). */
export async function listCaptures(imageUid: string): Promise<CaptureItem[]> {
  const out: CaptureItem[] = [];
  for await (const item of partitionItems(capturesPartition(imageUid))) out.push(item as unknown as CaptureItem);
  return out;
}

type Changes = Partial<Pick<CaptureItem, 'state' | 'reason' | 'upload_id' | 'revoked' | 'ended_at'>>;

/**
 * Changes a job that is in one of `from` (and, given `uploadId`, whose
 * upload is that one); false when it was not (another request got there first).
 */
export async function updateCapture(
  id: string,
  from: readonly CaptureState[],
  set: Changes,
  options: { uploadId?: string } = {},
): Promise<boolean> {
  return writtenIf(ddb().send(new UpdateCommand(update(id, from, set, options))));
}

/**
 * As updateCapture, answering with the values the write replaced (those of
 * `set`'s attributes that the job had), or undefined when it was not written.
 */
export async function replaceInCapture(id: string, from: readonly CaptureState[], set: Changes): Promise<Changes | undefined> {
  const out = await outputIf(ddb().send(new UpdateCommand({ ...update(id, from, set), ReturnValues: 'UPDATED_OLD' })));
  return out && ((out.Attributes ?? {}) as Changes);
}

function update(id: string, from: readonly CaptureState[], set: Changes, options: { uploadId?: string } = {}): UpdateCommandInput {
  const names: Record<string, string> = { '#state': 'state' };
  const values: Record<string, unknown> = {};
  const sets: string[] = [];
  for (const [k, v] of Object.entries(set)) {
    names[`#${k}`] = k;
    values[`:${k}`] = v;
    sets.push(`#${k} = :${k}`);
  }
  const states = from.map((s, i) => {
    values[`:from${i}`] = s;
    return `:from${i}`;
  });
  let condition = `#state IN (${states.join(', ')})`;
  if (options.uploadId !== undefined) {
    names['#upload'] = 'upload_id';
    values[':expectedUpload'] = options.uploadId;
    condition += ' AND #upload = :expectedUpload';
  }
  return {
    TableName: config.tableName,
    Key: keys.capture(id),
    UpdateExpression: `SET ${sets.join(', ')}`,
    ConditionExpression: condition,
    ExpressionAttributeNames: names,
    ExpressionAttributeValues: values,
  };
}
