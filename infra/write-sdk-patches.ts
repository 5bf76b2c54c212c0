/**
 * `npm run sdk-patches`: makes the trait keys of the installed SDK clients'
 * schemas literal (see sdk-schema-keys.ts) and records the change as
 * patch-package patches, which `npm install` then applies.
 */
import { spawnSync } from 'node:child_process';
import { REPO_ROOT } from './bundling.js';
import { PATCHED_CLIENTS, rewriteInstalledClients } from './sdk-schema-keys.js';

for (const [client, replaced] of rewriteInstalledClients()) {
  console.log(`${client}: ${replaced} computed keys made literal`);
}
const run = spawnSync('npx', ['patch-package', ...PATCHED_CLIENTS], { cwd: REPO_ROOT, stdio: 'inherit' });
process.exit(run.status ?? 1);
