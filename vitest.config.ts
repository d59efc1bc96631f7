import { defineConfig } from 'vitest/config';

// One runner, several projects. Tests import the workspace packages' built dist/,
// so `pnpm build` runs first (scripts/test.sh does this).
export default defineConfig({
  test: {
    projects: [
      'packages/*',
      'apps/server',
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
