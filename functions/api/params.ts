/** Path parameters and headers that both API adapters (records.ts, content.ts) read alike. */
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
