import { defineConfig } from 'vitest/config';

/**
 * `npm run test:crash`: scenarios that SIGKILL the local stack (or one of its
 * children) and check the content invariants after each restart. One stack
 * process, restarted on the same data directory and ports, so one file at a time.
 */
export default defineConfig({
  test: {
    include: ['test/crash/**/*.crash.ts'],
    globalSetup: ['test/crash/global-setup.ts'],
    setupFiles: ['test/setup.ts'],
    testTimeout: 240_000,
    hookTimeout: 240_000,
    pool: 'forks',
    poolOptions: { forks: { singleFork: true } },
  },
});
