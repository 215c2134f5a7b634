import { defineConfig } from 'vitest/config';

// Tests against the real local cluster. The global setup starts it once for the whole run (a cold machine first
// builds the binaries, which can take many minutes: hence the generous hook timeout).
export default defineConfig({
  test: {
    name: 'cluster',
    // Services' and packages' tests that need the cluster are named `*.cluster.test.ts` (the integration project leaves them out).
    include: ['tests/**/*.test.ts', '../../services/*/src/**/*.cluster.test.ts', '../../packages/*/src/**/*.cluster.test.ts', '../e2e/**/*.cluster.test.ts'],
    globalSetup: ['./src/global-setup.ts'],
    hookTimeout: 60 * 60_000,
    testTimeout: 120_000,
    // The tests share one cluster and are independent (one namespace each); a few files run in parallel.
    fileParallelism: true,
    maxWorkers: 3,
    // Its own group, after the unit and integration projects: different worker settings need a separate
    // group, and the cluster's CPU use would otherwise skew the timing-sensitive integration tests.
    sequence: { groupOrder: 1 },
  },
});
