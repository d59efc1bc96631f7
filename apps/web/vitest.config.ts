import { defineConfig } from 'vitest/config';

// Pure-logic tests (router matching, formatting, error mapping, query building) in Node:
// no Svelte plugin and no DOM, so they stay fast and test the modules the components use.
export default defineConfig({
  test: { name: 'web', environment: 'node', include: ['test/**/*.test.ts'] },
});
