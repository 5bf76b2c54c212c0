/**
 * Content files: one S3 object under `content/<uid>` each, shared by the
 * images whose content it is (clones). `refcnt` counts those images; the
 * object is deleted only when it reaches 0. The item's shape is in db/schema.ts.
 */
export { contentKey, type FileItem, type FileState } from '../db/schema.js';

export const DEFAULT_FMT = 'cwsquash';
