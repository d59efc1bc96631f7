// Prints the one closing line of a test run from vitest's JSON report:
//   tests: <passed> passed, <failed> failed, <skipped> skipped
// Each failed test is named above it ("failed test: <file> > <name>: <first line of the error>"), so that the
// end of a long log says what failed without scrolling back through the reporter's output.
// A test file that failed without a failed test (it did not load, or a beforeAll/afterAll hook threw) adds
// one to "failed" and is named above the line; its tests, never run, are not counted as skipped.
// Exits 1 when anything failed or no test ran.
import { readFileSync } from 'node:fs';
import { relative } from 'node:path';

const report = JSON.parse(readFileSync(process.argv[2], 'utf8'));
const brokenFiles = report.testResults.filter(
  (file) => file.status === 'failed' && !file.assertionResults.some((test) => test.status === 'failed'),
);
const unrun = brokenFiles.reduce(
  (n, file) => n + file.assertionResults.filter((test) => test.status === 'pending' || test.status === 'skipped').length,
  0,
);
for (const file of report.testResults) {
  for (const test of file.assertionResults.filter((each) => each.status === 'failed')) {
    const why = (test.failureMessages?.[0] ?? '').split('\n')[0].slice(0, 300);
    console.log(`failed test: ${relative(process.cwd(), file.name)} > ${test.fullName}: ${why}`);
  }
}
for (const file of brokenFiles) {
  const why = (file.message || 'failed outside its tests').split('\n')[0];
  console.log(`failed file: ${relative(process.cwd(), file.name)}: ${why}`);
}
const passed = report.numPassedTests;
const failed = report.numFailedTests + brokenFiles.length;
const skipped = Math.max(0, report.numPendingTests + report.numTodoTests - unrun);
console.log(`tests: ${passed} passed, ${failed} failed, ${skipped} skipped`);
if (report.numTotalTests === 0 && failed === 0) {
  console.error('no tests ran');
  process.exit(1);
}
process.exit(failed > 0 ? 1 : 0);
