import { defineConfig } from 'vitest/config';

// buildApp + inject tests and real-socket tests (engine on port 0, SQLite in temp dirs).
export default defineConfig({
  test: { name: 'server', include: ['test/**/*.test.ts'], testTimeout: 20_000, hookTimeout: 20_000 },
});
