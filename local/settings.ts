/** Settings of the local stack from the environment, checked before anything starts. */
import { LocalStackError } from './errors.js';

function port(name: string, fallback: number | undefined): number | undefined {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 0 || value > 65535) {
    throw new LocalStackError(`${name} must be a port number (0-65535), got "${raw}"`);
  }
  return value;
}

function seconds(name: string): number | undefined {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return undefined;
  const value = Number(raw);
  if (!(value > 0)) throw new LocalStackError(`${name} must be a positive number of seconds, got "${raw}"`);
  return value;
}

/** DATA_DIR, default .data: `npm start` and `npm run token` agree on it. */
export const dataDirSetting = (): string => process.env['DATA_DIR'] || '.data';

export function localSettings() {
  return {
    port: port('PORT', 3000) ?? 3000,
    dataDir: dataDirSetting(),
    dynamodbPort: port('DYNAMODB_PORT', undefined),
    s3Port: port('S3_PORT', undefined),
    // How often the sweeper (and its re-drive) runs; default every 15 minutes, as on AWS.
    sweepIntervalSeconds: seconds('SWEEP_INTERVAL_SECONDS'),
  };
}
