/** The API's shapes as imgctl reads them (see DESIGN.md, "API contract"). */

export interface ContentEntry {
  size: number;
  mtime: number;
  chksum: string;
  filename: string;
  uid: string;
}

export interface ImageRecord {
  uid: string;
  name: string;
  description?: string | null;
  frozen?: boolean;
  parent?: string | null;
  distro?: string | null;
  /** `{<fmt>: ContentEntry}` plus the content's own last_modified* keys. */
  content?: Record<string, ContentEntry | string | number>;
  last_modified?: number;
  last_modified_by?: string;
  last_modified_on?: string;
  [key: string]: unknown;
}

export type ImageList = Record<string, ImageRecord>;

export interface ContentStat {
  size: number;
  mtime: number;
}

export interface ContentInfo extends ContentStat {
  chksum: string;
  refcnt: number;
  fmt: string;
}

export type UploadState = 'uploading' | 'hashing' | 'ready' | 'failed' | 'aborted' | 'expired';

export interface PartUrl {
  part_number: number;
  url: string;
}

export interface StoredPart {
  part_number: number;
  size: number;
  etag: string;
}

export interface UploadSession {
  upload_id: string;
  image: string;
  state: UploadState;
  reason?: string;
  size: number;
  part_size: number;
  part_count: number;
  fmt: string;
  sha1: string | null;
  parts_done?: StoredPart[];
  parts?: PartUrl[];
  expires?: number;
  session_expires: number;
}

export interface DownloadLink {
  url: string;
  expires: number;
  size: number;
  chksum: string;
  parts?: { part_number: number; start: number; end: number; range: string; url: string }[];
}

/** The `<fmt>: entry` pairs of a record's content, without its last_modified* keys. */
export function contentEntries(record: ImageRecord): [string, ContentEntry][] {
  return Object.entries(record.content ?? {}).filter(
    (e): e is [string, ContentEntry] => typeof e[1] === 'object' && e[1] !== null && typeof e[1].size === 'number',
  );
}
