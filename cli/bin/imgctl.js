#!/usr/bin/env node
// Launcher for `npx imgctl` / the `imgctl` bin: imgctl is TypeScript, run
// through tsx's loader (a runtime dependency), so there is no build step.
import { register } from 'tsx/esm/api';

register();
await import('../main.ts');
