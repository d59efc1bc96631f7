/**
 * The closing line of a test run tells the truth: a test file that fails to load, or whose set-up fails,
 * is counted as failed (and named), never as skipped. A real vitest run over files made for the purpose.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { REPO_ROOT } from '../support/start-system.js';

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'ferry-summary-'));
  writeFileSync(join(dir, 'vitest.config.mjs'), 'export default {};\n');
  writeFileSync(join(dir, 'passes.test.mjs'), "import { it } from 'vitest';\nit('passes', () => {});\n");
  writeFileSync(
    join(dir, 'does-not-load.test.mjs'),
    "import './missing-module.mjs';\nimport { it } from 'vitest';\nit('never runs', () => {});\n",
  );
  writeFileSync(
    join(dir, 'one-fails.test.mjs'),
    "import { describe, expect, it } from 'vitest';\ndescribe('uploads', () => {\n  it('keeps the bytes', () => { expect(1).toBe(2); });\n  it('passes too', () => {});\n});\n",
  );
  writeFileSync(
    join(dir, 'set-up-fails.test.mjs'),
    "import { beforeAll, it } from 'vitest';\nbeforeAll(() => { throw new Error('set-up failed'); });\nit('a', () => {});\nit('b', () => {});\n",
  );
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function summarize(files: string[]): { line: string; output: string; status: number | null } {
  const report = join(dir, 'report.json');
  rmSync(report, { force: true });
  spawnSync(
    process.execPath,
    [join(REPO_ROOT, 'node_modules/vitest/vitest.mjs'), 'run', '--root', dir, '--reporter=json', `--outputFile.json=${report}`, ...files],
    {
      cwd: dir,
      encoding: 'utf8',
      timeout: 60_000,
    },
  );
  expect(JSON.parse(readFileSync(report, 'utf8')).numTotalTests).toBeGreaterThan(0);
  const run = spawnSync(process.execPath, [join(REPO_ROOT, 'scripts/test-summary.mjs'), report], { cwd: dir, encoding: 'utf8' });
  const line = run.stdout.split('\n').find((l) => l.startsWith('tests: ')) ?? '';
  return { line, output: run.stdout, status: run.status };
}

it('counts a file that fails to load and a file whose set-up fails as failures, and exits 1', () => {
  const { line, output, status } = summarize(['passes', 'does-not-load', 'set-up-fails']);
  expect(line).toBe('tests: 1 passed, 2 failed, 0 skipped');
  expect(output).toContain('failed file: does-not-load.test.mjs');
  expect(output).toContain('failed file: set-up-fails.test.mjs');
  expect(status).toBe(1);
});

it('says "1 failed" for one broken file beside passing ones', () => {
  const { line, status } = summarize(['passes', 'does-not-load']);
  expect(line).toBe('tests: 1 passed, 1 failed, 0 skipped');
  expect(status).toBe(1);
});

it('names each failed test with its file and the first line of its error above the closing line', () => {
  const { line, output, status } = summarize(['passes', 'one-fails']);
  expect(line).toBe('tests: 2 passed, 1 failed, 0 skipped');
  const named = output.split('\n').filter((l) => l.startsWith('failed test: '));
  expect(named).toHaveLength(1);
  expect(named[0]).toMatch(/^failed test: one-fails\.test\.mjs > uploads keeps the bytes: AssertionError: expected 1 to be 2/);
  expect(output.indexOf(named[0]!)).toBeLessThan(output.indexOf(line));
  expect(status).toBe(1);
});

it('exits 0 when everything passed', () => {
  const { line, status } = summarize(['passes']);
  expect(line).toBe('tests: 1 passed, 0 failed, 0 skipped');
  expect(status).toBe(0);
});
