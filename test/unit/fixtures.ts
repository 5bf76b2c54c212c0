/**
 * What the unit tests of the handlers share: the environment the handlers
 * read, and table items shaped as the repositories store them (keys from the
 * schema module), each with the fields a test cares about given on top.
 */
import { contentKey, IMAGES_PARTITION, keys } from '../../functions/core/db/schema.js';

export const MiB = 1024 * 1024;

/**
 * The settings every handler needs, plus the test's own. Call it before the
 * handler module is imported: the configuration is read once per module.
 */
export function useHandlerEnv(extra: Record<string, string> = {}): void {
  Object.assign(process.env, {
    TABLE_NAME: 'images',
    BUCKET_NAME: 'bucket',
    SITE_NAME: 'eu-west-1',
    POWERTOOLS_LOG_LEVEL: 'SILENT',
    ...extra,
  });
}

/** The records handler, imported once its environment is set (in a beforeAll). */
export async function recordsHandler(extra: Record<string, string> = {}) {
  useHandlerEnv(extra);
  return (await import('../../functions/records.js')).handler;
}

/** The content handler, likewise. */
export async function contentHandler(extra: Record<string, string> = {}) {
  useHandlerEnv(extra);
  return (await import('../../functions/content.js')).handler;
}

/** An image record named `base`, at version 3. */
export const imageItem = (uid: string, fields: Record<string, unknown> = {}) => ({
  ...keys.image(uid),
  gsi1pk: IMAGES_PARTITION,
  gsi1sk: 'base',
  kind: 'image',
  uid,
  name: 'base',
  frozen: false,
  last_modified: 1,
  last_modified_by: 'a',
  last_modified_on: 'eu-west-1',
  version: 3,
  ...fields,
});

/** An upload session of 6 MiB in two parts, `uploading`, a day from expiring. */
export const uploadItem = (uploadId: string, imageUid: string, fields: Record<string, unknown> = {}) => ({
  ...keys.upload(uploadId),
  kind: 'upload',
  upload_id: uploadId,
  image_uid: imageUid,
  key: contentKey(uploadId),
  s3_upload_id: 's3-upload',
  size: 6 * MiB,
  part_size: 5 * MiB,
  part_count: 2,
  fmt: 'cwsquash',
  state: 'uploading',
  started_by: 'a',
  started_on: 'eu-west-1',
  created_at: Date.now() / 1000,
  expires_at: Date.now() / 1000 + 86_400,
  ...fields,
});
