/**
 * Whether the launcher may run the bundle (cli/dist/imgctl.mjs, written by
 * `npm run build:cli`) or must run the TypeScript sources through tsx. Plain
 * JavaScript, because it runs before tsx is loaded; cheap, because it runs on
 * every command: one stat of the bundle, one small JSON file, one stat per
 * source file the bundle was built from.
 */
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';

/** Where `npm run build:cli` writes, relative to the project root. */
export const BUNDLE = 'cli/dist/imgctl.mjs';
export const MANIFEST = 'cli/dist/inputs.json';

/**
 * Why the bundle is not to be trusted, or null when it is fresh: it exists,
 * its manifest exists, and every source file the manifest lists (paths
 * relative to root) still exists and was last changed before the build began.
 */
export function staleReason(root, bundle = join(root, BUNDLE), manifest = join(root, MANIFEST)) {
  const built = statSync(bundle, { throwIfNoEntry: false });
  if (!built) return `no bundle at ${bundle}`;
  let inputs;
  try {
    inputs = JSON.parse(readFileSync(manifest, 'utf8')).inputs;
  } catch {
    return `no readable manifest at ${manifest}`;
  }
  if (!Array.isArray(inputs) || inputs.length === 0) return `${manifest} lists no inputs`;
  for (const input of inputs) {
    if (typeof input !== 'string') return `${manifest} lists a non-path`;
    const source = statSync(join(root, input), { throwIfNoEntry: false });
    if (!source) return `${input} is missing`;
    // Equal counts as newer: on a coarse-grained file system, guess "changed".
    if (source.mtimeMs >= built.mtimeMs) return `${input} changed after the build`;
  }
  return null;
}

/** 'bundle' or 'source'. IMGCTL_FROM_SOURCE=1 always says 'source'. */
export function entryFor(root, env = process.env) {
  const forced = env.IMGCTL_FROM_SOURCE;
  if (forced && forced !== '0') return 'source';
  return staleReason(root) === null ? 'bundle' : 'source';
}
