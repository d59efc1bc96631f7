import { defineConfig } from 'vitest/config';

// One runner, several projects. Tests import the workspace packages' built dist/,
// so `pnpm build` runs first (scripts/test.sh does this).
export default defineConfig({
  test: {
    projects: [
      'packages/*',
      'apps/server',
      {
        // The API tests again, each on a fresh PostgreSQL database (test/harness.ts) in a throwaway cluster.
        extends: './apps/server/vitest.config.ts',
        test: {
          name: 'server on postgres',
          root: './apps/server',
          globalSetup: ['../../packages/db/test/postgres-setup.ts'],
          env: { FERRY_TEST_DATABASE: 'postgres' },
        },
      },
      'apps/web',
      {
        test: {
          name: 'e2e',
          root: './test',
          include: ['**/*.test.ts'],
          testTimeout: 120_000,
          hookTimeout: 120_000,
          fileParallelism: false,
        },
      },
    ],
  },
});
