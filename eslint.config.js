// ESLint flat config for the whole workspace: TypeScript (typescript-eslint), Svelte components (eslint-plugin-svelte),
// plain ESM scripts (bench, scripts). Formatting is Prettier's job: eslint-config-prettier comes last.
import js from '@eslint/js';
import { defineConfig } from 'eslint/config';
import prettier from 'eslint-config-prettier';
import svelte from 'eslint-plugin-svelte';
import globals from 'globals';
import ts from 'typescript-eslint';
import svelteConfig from './apps/web/svelte.config.js';

export default defineConfig(
  {
    ignores: [
      '**/dist/',
      '**/node_modules/',
      '**/coverage/',
      '**/*.tsbuildinfo',
      'packages/db/migrations/',
      'packages/db/migrations-postgres/',
      'test/artifacts/',
      'bench/results/',
      'data/',
    ],
  },
  js.configs.recommended,
  ts.configs.recommended,
  svelte.configs.recommended,
  {
    languageOptions: { globals: { ...globals.node } },
    linterOptions: { reportUnusedDisableDirectives: 'error' },
    rules: {
      // A leading underscore marks a parameter kept for its signature or a property left out of a rest object.
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    },
  },
  {
    // Type-aware checks for promises: a store call or a write whose promise nobody awaits loses its errors.
    files: ['apps/server/**/*.ts', 'packages/**/*.ts', 'test/**/*.ts'],
    ignores: ['**/*.d.ts', '**/vite.config.ts', '**/vitest.config.ts', '**/drizzle.config.ts', '**/drizzle.postgres.config.ts'],
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/await-thenable': 'error',
    },
  },
  {
    files: ['apps/web/src/**/*.{ts,svelte}'],
    languageOptions: { globals: { ...globals.browser } },
    rules: {
      // The stores replace state ($state.raw + new objects) and keep deliberately non-reactive caches; local URL/Map temporaries need no proxy.
      'svelte/prefer-svelte-reactivity': 'off',
    },
  },
  {
    files: ['**/*.svelte', '**/*.svelte.ts'],
    languageOptions: {
      parserOptions: { parser: ts.parser, extraFileExtensions: ['.svelte'], svelteConfig },
    },
  },
  svelte.configs.prettier,
  prettier,
);
