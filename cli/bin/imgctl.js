#!/usr/bin/env node
// Launcher for `npx imgctl` / the `imgctl` bin. imgctl is TypeScript; install
// bundles it (`npm run build:cli`, cli/dist/imgctl.mjs), which starts in about
// a third of the time tsx takes to compile the sources on the fly. The bundle
// runs only while fresh.js finds it newer than every source file it was built
// from, so an edited checkout runs its sources, never stale code; otherwise,
// or with IMGCTL_FROM_SOURCE=1, the sources run through tsx's loader.
import { fileURLToPath } from 'node:url';
import { entryFor } from './fresh.js';

if (entryFor(fileURLToPath(new URL('../..', import.meta.url))) === 'bundle') {
  await import('../dist/imgctl.mjs');
} else {
  // Loaded only here: importing tsx is most of the cost the bundle saves.
  const { register } = await import('tsx/esm/api');
  register();
  await import('../main.ts');
}
