/**
 * DynamoDB access for image records and their name guards. Reads are
 * strongly consistent: a client that just wrote must see its write.
 */
import { GetCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { ddb } from '../clients.js';
import { config } from '../config.js';
import { BY_NAME_INDEX, IMAGES_PARTITION, keys, type NameGuard } from '../db/schema.js';
import type { Write } from '../db/transact.js';
import type { ImageItem } from './model.js';

export async function getImageItem(uid: string): Promise<ImageItem | undefined> {
  const out = await ddb().send(new GetCommand({ TableName: config.tableName, Key: keys.image(uid), ConsistentRead: true }));
  return out.Item as ImageItem | undefined;
}

export async function getUidByName(name: string): Promise<string | undefined> {
  const out = await ddb().send(new GetCommand({ TableName: config.tableName, Key: keys.name(name), ConsistentRead: true }));
  return (out.Item as NameGuard | undefined)?.uid;
}

/** The index key of an image: what a paging cursor must carry to resume after it. */
export interface IndexKey {
  pk: string;
  gsi1pk: string;
  gsi1sk: string;
}

export interface PageQuery {
  limit: number;
  after?: IndexKey;
  parent?: string;
  distro?: string;
}

/**
 * Reads one page of images in name order. With filters, DynamoDB's Limit
 * counts items before filtering, so this keeps reading until the page is
 * full; the cursor is the key of the last item returned, not the last read.
 */
export async function queryImagesByName(q: PageQuery): Promise<{ items: ImageItem[]; next?: IndexKey }> {
  const filters: string[] = [];
  const values: Record<string, unknown> = { ':p': IMAGES_PARTITION };
  const names: Record<string, string> = { '#p': 'gsi1pk' };
  if (q.parent !== undefined) {
    filters.push('#parent = :parent');
    names['#parent'] = 'parent';
    values[':parent'] = q.parent;
  }
  if (q.distro !== undefined) {
    filters.push('#distro = :distro');
    names['#distro'] = 'distro';
    values[':distro'] = q.distro;
  }
  const items: ImageItem[] = [];
  let start: IndexKey | undefined = q.after;
  do {
    const out = await ddb().send(
      new QueryCommand({
        TableName: config.tableName,
        IndexName: BY_NAME_INDEX,
        KeyConditionExpression: '#p = :p',
        ExpressionAttributeNames: names,
        ExpressionAttributeValues: values,
        ...(filters.length > 0 ? { FilterExpression: filters.join(' AND ') } : {}),
        // Filtered reads take bigger bites: most of what they read is dropped.
        Limit: filters.length > 0 ? Math.max(q.limit, 200) : q.limit - items.length + 1, // one extra tells whether a next page exists
        ...(start ? { ExclusiveStartKey: start } : {}),
      }),
    );
    const page = (out.Items ?? []) as ImageItem[];
    const room = q.limit - items.length;
    if (page.length >= room) {
      items.push(...page.slice(0, room));
      const last = items[items.length - 1];
      // A full page ends exactly at the store's end only if nothing was cut and nothing is left.
      const more = page.length > room || out.LastEvaluatedKey !== undefined;
      return { items, ...(more && last ? { next: indexKeyOf(last) } : {}) };
    }
    items.push(...page);
    start = out.LastEvaluatedKey as IndexKey | undefined;
  } while (start);
  return { items };
}

export const indexKeyOf = (item: ImageItem): IndexKey => ({ pk: item.pk, gsi1pk: item.gsi1pk, gsi1sk: item.gsi1sk });

/* Writes, composed by the service into one conditional unit. */

export const putNewImage = (item: ImageItem): Write => ({
  Put: { Item: item, ConditionExpression: 'attribute_not_exists(pk)' },
});

export const putImageIfVersion = (item: ImageItem, expectedVersion: number): Write => ({
  Put: {
    Item: item,
    ConditionExpression: '#version = :expected',
    ExpressionAttributeNames: { '#version': 'version' },
    ExpressionAttributeValues: { ':expected': expectedVersion },
  },
});

export const deleteImageIfVersion = (uid: string, expectedVersion: number): Write => ({
  Delete: {
    Key: keys.image(uid),
    ConditionExpression: '#version = :expected',
    ExpressionAttributeNames: { '#version': 'version' },
    ExpressionAttributeValues: { ':expected': expectedVersion },
  },
});

export const claimName = (name: string, uid: string): Write => ({
  Put: {
    Item: { ...keys.name(name), kind: 'name', uid } satisfies NameGuard,
    ConditionExpression: 'attribute_not_exists(pk)',
  },
});

export const releaseName = (name: string, uid: string): Write => ({
  Delete: {
    Key: keys.name(name),
    ConditionExpression: '#uid = :uid',
    ExpressionAttributeNames: { '#uid': 'uid' },
    ExpressionAttributeValues: { ':uid': uid },
  },
});

/** The image is still at the version read: what was copied from it is current. */
export const imageAtVersion = (uid: string, version: number): Write => ({
  ConditionCheck: {
    Key: keys.image(uid),
    ConditionExpression: '#version = :expected',
    ExpressionAttributeNames: { '#version': 'version' },
    ExpressionAttributeValues: { ':expected': version },
  },
});

export const imageExists = (uid: string): Write => ({
  ConditionCheck: { Key: keys.image(uid), ConditionExpression: 'attribute_exists(pk)' },
});
