import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Integration tests share one local stack, started once for the run.
    globalSetup: ['test/integration/global-setup.ts'],
    setupFiles: ['test/setup.ts', 'test/integration/validate-responses.ts'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    // Two cores: keep workers few so DynamoDB Local and the tests do not starve each other.
    pool: 'forks',
    poolOptions: { forks: { maxForks: 2, minForks: 1 } },
  },
});
