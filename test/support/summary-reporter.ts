import { writeFileSync } from 'node:fs';
import type { Reporter, TestModule } from 'vitest/node';

/**
 * Ends the run with one plain line, `N passed, N failed` (then `, N skipped`), the line CI reads. A test file
 * that failed to load, or an error outside any test, counts as a failure: a broken file never vanishes.
 */
export default class SummaryReporter implements Reporter {
  onTestRunEnd(testModules: ReadonlyArray<TestModule>, unhandledErrors: ReadonlyArray<unknown>): void {
    let passed = 0;
    let failed = 0;
    let skipped = 0;
    for (const module of testModules) {
      let counted = 0;
      for (const test of module.children.allTests()) {
        counted += 1;
        const state = test.result().state;
        if (state === 'passed') passed += 1;
        else if (state === 'failed') failed += 1;
        else skipped += 1;
      }
      if (module.state() === 'failed' && (counted === 0 || module.errors().length > 0)) failed += 1;
    }
    failed += unhandledErrors.length;
    const line = `${passed} passed, ${failed} failed${skipped > 0 ? `, ${skipped} skipped` : ''}`;
    // scripts/test.sh adds lint and typecheck to these counts and prints the one closing line itself.
    const file = process.env.APPSERVING_TEST_SUMMARY_FILE;
    if (file) writeFileSync(file, `${passed} ${failed} ${skipped}\n`);
    else process.stdout.write(`\n${line}\n`);
  }
}
