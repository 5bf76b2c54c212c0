/**
 * The Image record as stored and as served. Stored items carry table keys and
 * a `version` for conditional writes; the API record drops both.
 */
import { IMAGES_PARTITION, keys, type ContentRecord, type ImageItem, type Stamp } from '../db/schema.js';

export type { ContentEntry, ContentRecord, ImageItem, Stamp } from '../db/schema.js';

/** The fields a client may set: on create, PATCH and PUT. */
export interface EditableFields {
  name: string;
  description?: string | null;
  frozen?: boolean;
  /** UID or name on input; always stored as an existing image's UID. */
  parent?: string | null;
  distro?: string | null;
}

/** The stamp's keys, which share `content` with the formats: no format may take one of these names. */
export const STAMP_KEYS: readonly (keyof Stamp)[] = ['last_modified', 'last_modified_by', 'last_modified_on'];

export interface ImageRecord extends Stamp {
  uid: string;
  name: string;
  description: string | null;
  frozen: boolean;
  parent: string | null;
  distro: string | null;
  content: ContentRecord;
}

export interface Actor {
  user: string;
  site: string;
}

export function stamp(actor: Actor, at: number): Stamp {
  return { last_modified: at, last_modified_by: actor.user, last_modified_on: actor.site };
}

export function toRecord(item: ImageItem): ImageRecord {
  return {
    ...editableOf(item),
    content: item.content ?? {},
    last_modified: item.last_modified,
    last_modified_by: item.last_modified_by,
    last_modified_on: item.last_modified_on,
    uid: item.uid,
  };
}

/**
 * The item for `uid` holding `fields` (parent already resolved to a UID),
 * carrying over the content reference and taking the given version.
 */
export function buildItem(
  uid: string,
  fields: EditableFields,
  stampNow: Stamp,
  carry: Partial<Pick<ImageItem, 'file_uid' | 'content' | 'content_order'>> & { version?: number } = {},
): ImageItem {
  const item: ImageItem = {
    ...keys.image(uid),
    gsi1pk: IMAGES_PARTITION,
    gsi1sk: fields.name,
    kind: 'image',
    uid,
    name: fields.name,
    frozen: fields.frozen ?? false,
    ...stampNow,
    version: carry.version ?? 1,
  };
  if (fields.description != null) item.description = fields.description;
  if (fields.parent != null) item.parent = fields.parent;
  if (fields.distro != null) item.distro = fields.distro;
  if (carry.file_uid !== undefined) item.file_uid = carry.file_uid;
  if (carry.content !== undefined) item.content = carry.content;
  if (carry.content_order !== undefined) item.content_order = carry.content_order;
  return item;
}

/** Every editable field of an item, unset ones as null. */
export function editableOf(item: ImageItem): Pick<ImageRecord, keyof EditableFields> {
  return {
    name: item.name,
    description: item.description ?? null,
    frozen: item.frozen,
    parent: item.parent ?? null,
    distro: item.distro ?? null,
  };
}
