import { GetCommand, PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { ddb } from '../clients.js';
import { config } from '../config.js';
import { HASHING_UPLOADS_PARTITION, keys } from '../db/schema.js';
import type { Write } from '../db/transact.js';
import { sortableMs, type UploadItem, type UploadState } from './model.js';
import { outputIf, writtenIf } from '../db/conditional.js';

type TransitionSet = Partial<Pick<UploadItem, 'reason' | 'completed_at' | 'replaced_file' | 'sha1' | 'expires_at'>>;

export async function getUpload(id: string): Promise<UploadItem | undefined> {
  const out = await ddb().send(new GetCommand({ TableName: config.tableName, Key: keys.upload(id), ConsistentRead: true }));
  return out.Item as UploadItem | undefined;
}

export async function putUpload(item: UploadItem): Promise<void> {
  await ddb().send(new PutCommand({ TableName: config.tableName, Item: item, ConditionExpression: 'attribute_not_exists(pk)' }));
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
  return writtenIf(ddb().send(new UpdateCommand({ TableName: config.tableName, ...transitionUpdate(id, from, to, set, remove) })));
}

export const transitionWrite = (id: string, from: UploadState, to: UploadState, set: TransitionSet = {}): Write => ({
  Update: transitionUpdate(id, from, to, set, []),
});

function transitionUpdate(id: string, from: UploadState, to: UploadState, set: TransitionSet, remove: string[]) {
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
  // Leaving hashing also drops the hash's lease and saved state, which nothing reads any more.
  const removed =
    from === 'hashing' && to !== 'hashing' ? [...remove, 'gsi1pk', 'gsi1sk', 'lease_owner', 'lease_until', 'hash_state'] : remove;
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

/**
 * Claims a hashing session for one hasher run until `untilMs`: granted when
 * no run holds it, the holder's lease ran out, or `owner` holds it already.
 * The claim also marks the session as active now (its place in the hashing
 * list), so the re-drive leaves it alone while it moves. Undefined when not
 * granted (another run holds it, or it is no longer hashing).
 */
export async function claimHashing(id: string, owner: string, untilMs: number, nowMs = Date.now()): Promise<UploadItem | undefined> {
  const out = await outputIf(
    ddb().send(
      new UpdateCommand({
        TableName: config.tableName,
        Key: keys.upload(id),
        UpdateExpression: 'SET #owner = :owner, #until = :until, #since = :since ADD #runs :one',
        ConditionExpression: '#state = :hashing AND (attribute_not_exists(#until) OR #until < :now OR #owner = :owner)',
        ExpressionAttributeNames: {
          '#owner': 'lease_owner',
          '#until': 'lease_until',
          '#since': 'gsi1sk',
          '#runs': 'hash_runs',
          '#state': 'state',
        },
        ExpressionAttributeValues: {
          ':owner': owner,
          ':until': untilMs,
          ':since': sortableMs(nowMs),
          ':one': 1,
          ':hashing': 'hashing',
          ':now': nowMs,
        },
        ReturnValues: 'ALL_NEW',
      }),
    ),
  );
  return out?.Attributes as UploadItem | undefined;
}

export interface Progress {
  offset: number;
  /** The resumable state at `offset`; absent for a native run, which can only report progress. */
  state?: Uint8Array | undefined;
  /** Hash resumably from now on (a native run ran out of time). */
  resumable?: boolean;
  /** Give up the lease: the next run may start at once. */
  release?: boolean;
}

/**
 * Records how far the holder of the lease got; false when `owner` no longer
 * holds it (its lease ran out and another run claimed the session, or the
 * session moved on), and the caller must stop.
 */
export async function saveProgress(id: string, owner: string, progress: Progress, nowMs = Date.now()): Promise<boolean> {
  const names: Record<string, string> = { '#state': 'state', '#owner': 'lease_owner', '#offset': 'hash_offset', '#since': 'gsi1sk' };
  const values: Record<string, unknown> = {
    ':hashing': 'hashing',
    ':owner': owner,
    ':offset': progress.offset,
    ':since': sortableMs(nowMs),
  };
  const sets = ['#offset = :offset', '#since = :since'];
  // Progress: the re-drives counted so far were answered; a session fails only after several in a row that changed nothing.
  names['#redrives'] = 'redrives';
  const removes: string[] = ['#redrives'];
  if (progress.state) {
    names['#hstate'] = 'hash_state';
    values[':hstate'] = progress.state;
    sets.push('#hstate = :hstate');
  }
  if (progress.resumable) {
    names['#resumable'] = 'hash_resumable';
    values[':true'] = true;
    sets.push('#resumable = :true');
  }
  if (progress.release) {
    names['#until'] = 'lease_until';
    removes.push('#owner', '#until');
  }
  return writtenIf(
    ddb().send(
      new UpdateCommand({
        TableName: config.tableName,
        Key: keys.upload(id),
        UpdateExpression: `SET ${sets.join(', ')}${removes.length > 0 ? ` REMOVE ${removes.join(', ')}` : ''}`,
        ConditionExpression: '#state = :hashing AND #owner = :owner',
        ExpressionAttributeNames: names,
        ExpressionAttributeValues: values,
      }),
    ),
  );
}

/** Gives up a lease early (a run that failed), so a retry need not wait for it to run out. */
export async function releaseLease(id: string, owner: string): Promise<void> {
  await writtenIf(
    ddb().send(
      new UpdateCommand({
        TableName: config.tableName,
        Key: keys.upload(id),
        UpdateExpression: 'REMOVE #owner, #until',
        ConditionExpression: '#owner = :owner',
        ExpressionAttributeNames: { '#owner': 'lease_owner', '#until': 'lease_until' },
        ExpressionAttributeValues: { ':owner': owner },
      }),
    ),
  );
}

/**
 * Counts one re-drive of a session that went quiet, and marks it active now;
 * false when it moved meanwhile (a run claimed it, or it is no longer hashing),
 * so that two sweeps never re-drive it twice for one silence.
 */
export async function markRedriven(session: Pick<UploadItem, 'upload_id'> & { gsi1sk?: string }, nowMs = Date.now()): Promise<boolean> {
  return writtenIf(
    ddb().send(
      new UpdateCommand({
        TableName: config.tableName,
        Key: keys.upload(session.upload_id),
        UpdateExpression: 'SET #since = :now ADD #redrives :one',
        ConditionExpression: '#state = :hashing AND #since = :seen',
        ExpressionAttributeNames: { '#state': 'state', '#since': 'gsi1sk', '#redrives': 'redrives' },
        ExpressionAttributeValues: { ':hashing': 'hashing', ':now': sortableMs(nowMs), ':one': 1, ':seen': session.gsi1sk ?? '' },
      }),
    ),
  );
}
