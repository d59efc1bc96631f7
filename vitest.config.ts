import { defineConfig } from 'vitest/config';

// One runner, several projects. Tests import the workspace packages' built dist/,
// so `pnpm build` runs first (scripts/test.sh does this).
/**
 * Of those, the files about SQLite's file (they read ferry.db or check it after kill -9) and those that start
 * PostgreSQL clusters of their own.
 */
const E2E_SQLITE_ONLY = [
  '**/node_modules/**',
  'api/lifecycle.test.ts',
  'api/postgres.test.ts',
  'defences/crash.test.ts',
  'defences/startup.test.ts',
  'defences/homes.test.ts',
  'ftp/two-nodes.test.ts',
  'web/nodes.test.ts',
];
/** The end-to-end test files that run a second time on PostgreSQL. */
const E2E_ON_POSTGRES = [
  'api/**/*.test.ts',
  'ftp/**/*.test.ts',
  'web/**/*.test.ts',
  'defences/**/*.test.ts',
  'diagnosis/**/*.test.ts',
  'probes/**/*.test.ts',
];

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
      {
        // The end-to-end tests again with every Ferry on PostgreSQL (test/support/start-system.ts), leaving out those
        // about SQLite's file itself (backups, crash consistency, the container) and those with a database of their own.
        test: {
          name: 'e2e on postgres',
          root: './test',
          include: E2E_ON_POSTGRES,
          exclude: E2E_SQLITE_ONLY,
          testTimeout: 120_000,
          hookTimeout: 120_000,
          fileParallelism: false,
          globalSetup: ['../packages/db/test/postgres-setup.ts'],
          env: { FERRY_TEST_DATABASE: 'postgres' },
        },
      },
    ],
  },
});
