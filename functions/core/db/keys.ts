/**
 * Key layout of the single table (DESIGN.md, "Data"). Every item has a string
 * partition key `pk` whose prefix names its kind; images also carry the keys
 * of the `byName` index, which lists them in name order for paging.
 */
export const keys = {
  image: (uid: string) => ({ pk: `IMAGE#${uid}` }),
  name: (name: string) => ({ pk: `NAME#${name}` }),
  file: (uid: string) => ({ pk: `FILE#${uid}` }),
  upload: (id: string) => ({ pk: `UPLOAD#${id}` }),
};

export const BY_NAME_INDEX = 'byName';
/** Constant partition of the byName index: every image, sorted by name. */
export const IMAGES_PARTITION = 'IMAGE';
/**
 * Partition of the byName index where a file goes each time a reference to
 * it is released (and leaves when one is taken): the sweeper finds files left
 * at refcnt 0 here without scanning the table.
 */
export const RELEASED_FILES_PARTITION = 'RELEASED';

/** Partition of the byName index listing upload sessions while they are hashing. */
export const HASHING_UPLOADS_PARTITION = 'HASHING';
