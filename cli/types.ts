/**
 * The API's shapes as imgctl reads them (see DESIGN.md, "API contract"). The
 * content and upload shapes are the service's own types, so a change on one
 * side that the other does not follow fails to compile. Records are read more
 * loosely: a head node may add fields of its own.
 */
import type { ContentEntry } from '../functions/core/images/model.js';
import type { DownloadLink } from '../functions/core/content/service.js';
import type { StoredPart } from '../functions/core/files/storage.js';
import type { PartUrl, SessionView } from '../functions/core/uploads/service.js';
import type { CaptureView, StartedCapture } from '../functions/core/capture/service.js';

export type { ContentEntry, DownloadLink, PartUrl, StoredPart, StartedCapture };
export type CaptureJob = CaptureView;

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

export type UploadState = UploadSession['state'];
export type UploadSession = SessionView;

/** The `<fmt>: entry` pairs of a record's content, without its last_modified* keys. */
export function contentEntries(record: ImageRecord): [string, ContentEntry][] {
  return Object.entries(record.content ?? {}).filter(
    (e): e is [string, ContentEntry] => typeof e[1] === 'object' && e[1] !== null && typeof e[1].size === 'number',
  );
}
