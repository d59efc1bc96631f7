import { defineConfig } from 'drizzle-kit';

// PostgreSQL's migrations, from the schema derived from src/schema/ (src/schema-postgres.ts):
// `pnpm --filter @ferry/db exec drizzle-kit generate --config drizzle.postgres.config.ts --name <what-changed>`
// after editing src/schema/, next to SQLite's. The SQL in migrations-postgres/ is committed and never edited by hand.
export default defineConfig({
  dialect: 'postgresql',
  schema: './src/schema-postgres.ts',
  out: './migrations-postgres',
});
