/** Path parameters and headers that the API adapters (records.ts, content.ts, capture.ts) read alike. */
import { invalid } from '../core/errors.js';
import type { WriteOptions } from '../core/images/service.js';
import { ifMatchVersions } from '../http/request.js';

export function versionOption(headers: Parameters<typeof ifMatchVersions>[0]): WriteOptions {
  const versions = ifMatchVersions(headers);
  return versions === undefined ? {} : { expectedVersions: versions };
}

export function id(params: Record<string, string>): string {
  const value = params['id'];
  if (value === undefined || value === '') throw invalid('the image UID or name is missing from the path');
  return value;
}

/** An upload session's id from the path; an empty one matches no session. */
export const uploadId = (params: Record<string, string>): string => params['upload_id'] ?? '';
