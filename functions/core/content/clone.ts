/**
 * Cloning an image shares its content file: the clone's record and the
 * file's extra reference commit together. Table only (no S3): the records
 * function serves it.
 */
import type { Actor, ImageItem } from '../images/model.js';
import { retainFile } from '../files/repository.js';
import * as images from '../images/service.js';

export function cloneImage(
  id: string,
  fields: { name: string; description?: string | null },
  actor: Actor,
  options: images.WriteOptions = {},
): Promise<ImageItem> {
  return images.cloneImage(id, fields, actor, { ...options, retainFile });
}
