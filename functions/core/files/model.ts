/**
 * Content files: one S3 object under `content/<uid>` each, shared by the
 * images whose content it is (clones). `refcnt` counts those images; the
 * object is deleted only when it reaches 0.
 */
export type FileState = 'live' | 'deleting';

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
}

export const contentKey = (fileUid: string): string => `content/${fileUid}`;

export const DEFAULT_FMT = 'cwsquash';
