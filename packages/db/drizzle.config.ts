import { defineConfig } from 'drizzle-kit';

// `pnpm --filter @ferry/db exec drizzle-kit generate --name <what-changed>` after editing src/schema/.
// The SQL in migrations/ is committed and never edited by hand.
export default defineConfig({
  dialect: 'sqlite',
  schema: './src/schema/index.ts',
  out: './migrations',
});
