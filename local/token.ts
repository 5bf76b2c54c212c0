/**
 * `npm run token -- --user NAME [--admin] [--ttl 1h]`: prints a token for the
 * local stack (and nothing else on stdout, so `$(npm run --silent token ...)`
 * works). Signed with the key in DATA_DIR (from the environment, default
 * .data, as for `npm start`), which `npm start` creates. Short lifetimes
 * (`--ttl 20s`) are for trying token renewal (imgctl --token-command).
 */
import { existsSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { resolve } from 'node:path';
import { dataDirSetting } from './settings.js';
import { issueToken, keyFile, loadOrCreateKeys } from './tokens.js';

const USAGE = 'usage: npm run token -- --user NAME [--admin] [--ttl 1h]   (DATA_DIR as for npm start)';

async function main(): Promise<void> {
  let values: { user?: string; admin?: boolean; ttl?: string; help?: boolean };
  try {
    ({ values } = parseArgs({
      options: {
        user: { type: 'string', short: 'u' },
        admin: { type: 'boolean', default: false },
        ttl: { type: 'string', default: '1h' },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
    }));
  } catch (error) {
    console.error(`${(error as Error).message}\n${USAGE}`);
    process.exit(2);
  }
  if (values.help) {
    console.log(USAGE);
    return;
  }
  const user = values.user?.trim();
  if (!user) {
    console.error(`--user is required\n${USAGE}`);
    process.exit(2);
  }
  const ttl = values.ttl ?? '1h';
  if (!/^\d+\s*(s|sec|secs|second|seconds|m|min|mins|minute|minutes|h|hr|hrs|hour|hours|d|day|days|w|week|weeks)$/.test(ttl)) {
    console.error(`--ttl must be a duration such as 30m, 1h or 7d; got "${ttl}"\n${USAGE}`);
    process.exit(2);
  }
  const dataDir = resolve(dataDirSetting());
  if (!existsSync(keyFile(dataDir))) {
    // A token signed with a new key is refused by a stack that runs on another data directory.
    console.error(
      `token: no signing key in ${dataDir} yet, so a new one is made; a stack started with another DATA_DIR refuses this token (set DATA_DIR to its data directory)`,
    );
  }
  const keys = await loadOrCreateKeys(dataDir);
  process.stdout.write(`${await issueToken(keys, { user, admin: values.admin ?? false, ttl })}\n`);
}

main().catch((error: unknown) => {
  console.error(`token: ${(error as Error).message}`);
  process.exit(1);
});
