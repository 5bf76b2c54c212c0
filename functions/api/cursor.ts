/** Paging cursors: the index key of the last item served, opaque to clients. */
import * as z from 'zod/mini';
import { invalid } from '../core/errors.js';
import type { IndexKey } from '../core/images/repository.js';

const indexKey = z.strictObject({ pk: z.string(), gsi1pk: z.string(), gsi1sk: z.string() });

export const encodeCursor = (key: IndexKey): string => Buffer.from(JSON.stringify(key)).toString('base64url');

export function decodeCursor(cursor: string): IndexKey {
  try {
    return indexKey.parse(JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')));
  } catch {
    throw invalid('next is not a cursor this API gave out; start again without it');
  }
}
