import { defineConfig } from 'vitest/config';

// The stores that run on both databases are tested on both: a throwaway PostgreSQL cluster is started once for
// the project (test/postgres-setup.ts) and each test gets a database of its own in it.
export default defineConfig({
  test: {
    name: '@ferry/db',
    globalSetup: ['./test/postgres-setup.ts'],
  },
});
