/** Paging cursors: the index key of the last item served, opaque to clients. */
import * as z from 'zod/mini';
import { invalid } from '../errors.js';
import { IMAGES_PARTITION, PREFIX } from '../db/schema.js';
import { MAX_NAME_LENGTH, NAME_PATTERN } from '../ids.js';
import type { IndexKey } from './repository.js';

/** Only the key of an image in the byName index: anything else would reach DynamoDB as a bad key. */
const indexKey = z.strictObject({
  pk: z.string().check(z.regex(new RegExp(`^${PREFIX.image}[0-9a-f]{32}$`))),
  gsi1pk: z.literal(IMAGES_PARTITION),
  gsi1sk: z.string().check(z.minLength(1), z.maxLength(MAX_NAME_LENGTH), z.regex(NAME_PATTERN)),
});

export const encodeCursor = (key: IndexKey): string => Buffer.from(JSON.stringify(key)).toString('base64url');

export function decodeCursor(cursor: string): IndexKey {
  try {
    return indexKey.parse(JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')));
  } catch {
    throw invalid('next is not a cursor this API gave out; start again without it');
  }
}
