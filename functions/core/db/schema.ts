/**
 * The single table and the content bucket, described once (docs/architecture.md,
 * "Table design"): key prefixes, attribute and index names, the object prefix
 * and the stored item shapes. The repositories, the local stack, the tests and
 * the CDK constructs all read them from here. No imports: infra/ and local/
 * load this file without the functions' dependencies.
 *
 * Every item has a string partition key `pk` whose prefix names its kind;
 * images also carry the keys of the `byName` index, which lists them in name
 * order for paging, and the same index holds small work lists in partitions
 * of their own.
 */

/** Attribute and index names of the table. */
export const TABLE_SCHEMA = {
  partitionKey: 'pk',
  ttlAttribute: 'expires_at',
  byNameIndex: 'byName',
  byNamePartitionKey: 'gsi1pk',
  byNameSortKey: 'gsi1sk',
} as const;

export const BY_NAME_INDEX = TABLE_SCHEMA.byNameIndex;

/** Partition key prefixes, one per item kind. */
export const PREFIX = {
  image: 'IMAGE#',
  name: 'NAME#',
  file: 'FILE#',
  upload: 'UPLOAD#',
  chksum: 'CHKSUM#',
  capture: 'CAPTURE#',
} as const;

export const keys = {
  image: (uid: string) => ({ pk: `${PREFIX.image}${uid}` }),
  name: (name: string) => ({ pk: `${PREFIX.name}${name}` }),
  file: (uid: string) => ({ pk: `${PREFIX.file}${uid}` }),
  upload: (id: string) => ({ pk: `${PREFIX.upload}${id}` }),
  /** `sha1` in lower-case hex. */
  chksum: (sha1: string, size: number) => ({ pk: `${PREFIX.chksum}${sha1}#${size}` }),
  capture: (id: string) => ({ pk: `${PREFIX.capture}${id}` }),
};

/**
 * Partition of the byName index listing one image's capture jobs, by creation
 * time. The table has no sort key, so a job is an item of its own (found by
 * its id alone, as the capture authorizer needs) and the image's list is here.
 */
export const capturesPartition = (imageUid: string): string => `CAPTURES#${imageUid}`;

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

/** Content files live under this prefix of the bucket; grants and the hasher's notification are scoped to it. */
export const CONTENT_PREFIX = 'content/';

/** The S3 key of a content file (and of the upload session that creates it: same id). */
export const contentKey = (fileUid: string): string => `${CONTENT_PREFIX}${fileUid}`;

/* Item shapes */

/** One content entry, as the reference page shows it under `content.<fmt>`. */
export interface ContentEntry {
  size: number;
  mtime: number;
  chksum: string;
  filename: string;
  uid: string;
}

/** `content` of a record: `{<fmt>: entry, last_modified, ...}` or `{}`. */
export interface ContentRecord {
  [fmtOrStamp: string]: ContentEntry | number | string;
}

export interface Stamp {
  last_modified: number;
  last_modified_by: string;
  last_modified_on: string;
}

/** `IMAGE#<uid>`: an image record, listed in the byName index under IMAGES_PARTITION. */
export interface ImageItem extends Stamp {
  pk: string;
  gsi1pk: typeof IMAGES_PARTITION;
  gsi1sk: string;
  kind: 'image';
  uid: string;
  name: string;
  description?: string;
  frozen: boolean;
  parent?: string;
  distro?: string;
  /** The content file this image refers to, if any (its FILE# item). */
  file_uid?: string;
  content?: ContentRecord;
  /**
   * Completion order of the content's upload (or of its removal): an upload
   * that completed earlier never replaces what a later one put in place.
   */
  content_order?: string;
  version: number;
}

/** `NAME#<name>`: the guard that makes names unique; it names the image holding the name. */
export interface NameGuard {
  pk: string;
  kind: 'name';
  uid: string;
}

export type FileState = 'live' | 'deleting';

/**
 * `FILE#<uid>`: a content file, the object `content/<uid>`, shared by the
 * images whose content it is (clones). `refcnt` counts those images.
 */
export interface FileItem {
  pk: string;
  kind: 'file';
  uid: string;
  /** S3 key of the object. */
  key: string;
  fmt: string;
  size: number;
  /** The object's LastModified, epoch seconds. */
  mtime: number;
  /** `sha1:<hex>` */
  chksum: string;
  refcnt: number;
  state: FileState;
  last_modified: number;
  /** The superblock's facts, for `cwsquash` files (checked by the hasher). */
  squashfs?: SquashfsFacts;
}

export interface SquashfsFacts {
  compression: string;
  block_size: number;
  inodes: number;
  bytes_used: number;
  mkfs_time: number;
}

/**
 * `CHKSUM#<sha1>#<size>`: the live file with these bytes, so that an upload
 * of identical content shares it instead of storing it again. Written in the
 * transaction that creates the file; removed (if it still names the file)
 * when the file is collected. It may name a file that is going or gone: the
 * reader checks the file.
 */
export interface ChecksumItem {
  pk: string;
  kind: 'chksum';
  file_uid: string;
}

export type UploadState = 'uploading' | 'hashing' | 'ready' | 'failed' | 'aborted';

/** `UPLOAD#<id>`: an upload session; listed under HASHING_UPLOADS_PARTITION while hashing. */
export interface UploadItem {
  pk: string;
  kind: 'upload';
  upload_id: string;
  image_uid: string;
  key: string;
  s3_upload_id: string;
  size: number;
  part_size: number;
  part_count: number;
  /** Expected sha1 (hex) when the client declared one. */
  sha1?: string;
  fmt: string;
  state: UploadState;
  reason?: string;
  started_by: string;
  started_on: string;
  created_at: number;
  /** Set when the client completed the upload; orders racing uploads. */
  completed_at?: number;
  /**
   * The file this upload replaced (released in the same transaction that made
   * it `ready`), so that a repeated event can finish collecting it when the
   * run that released it failed before the collection was done.
   */
  replaced_file?: string;
  /**
   * The existing file with the same bytes that the image switched to instead
   * of this upload's object, which is then deleted.
   */
  shared_file?: string;
  /** Epoch seconds; DynamoDB's TTL removes the item after this. */
  expires_at: number;
  /**
   * While hashing: bytes hashed so far (progress), and, once a run stopped
   * at its deadline, the resumable SHA-1 state after exactly those bytes.
   */
  hash_offset?: number;
  hash_state?: Uint8Array;
  /** Set when a native run ran out of time: every later run hashes resumably. */
  hash_resumable?: boolean;
  /** The hasher run holding the session, and until when (epoch ms): no other run hashes it meanwhile. */
  lease_owner?: string;
  lease_until?: number;
  /** Hasher runs that claimed the session, and re-drives of it after it went quiet. */
  hash_runs?: number;
  redrives?: number;
  /** While hashing: the byName index's keys (HASHING_UPLOADS_PARTITION, the time it was last heard of). */
  gsi1pk?: string;
  gsi1sk?: string;
}

export type CaptureState = 'pending' | 'uploading' | 'hashing' | 'ready' | 'failed';

/**
 * `CAPTURE#<id>`: a capture job, run by a node with a single-use credential
 * (`<id>.<secret>`). Only the secret's sha256 is stored. Listed in the byName
 * index under capturesPartition(image).
 */
export interface CaptureItem {
  pk: string;
  kind: 'capture';
  capture_id: string;
  image_uid: string;
  /** The node being captured, as the request named it (`uid`); recorded, never contacted. */
  node: string;
  /** mksquashfs `-wildcards -e` patterns, relative to the captured root, on top of imgctl's defaults. */
  exclude: string[];
  /** mksquashfs compressor; absent: mksquashfs's default (gzip). */
  compress?: string;
  state: CaptureState;
  reason?: string;
  /** sha256 (hex) of the credential's secret. */
  secret_sha256: string;
  /** Epoch seconds after which the credential is refused. */
  credential_expires: number;
  /** Set when an admin revoked the job: its credential is refused everywhere. */
  revoked?: boolean;
  /** The upload session the node opened with the credential (the latest one). */
  upload_id?: string;
  created_at: number;
  created_by: string;
  created_on: string;
  ended_at?: number;
  /** Epoch seconds; DynamoDB's TTL removes the job after this. */
  expires_at: number;
  gsi1pk: string;
  gsi1sk: string;
}
