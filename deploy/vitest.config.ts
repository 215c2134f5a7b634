import { defineConfig } from 'vitest/config';

// The platform chart's tests. Most run against the local Kubernetes cluster (test/cluster), started or joined by
// its global setup; `*.unit.test.ts` files need nothing and also run in the root `unit` project.
export default defineConfig({
  test: {
    name: 'deploy',
    include: ['tests/**/*.test.ts'],
    exclude: ['tests/**/*.unit.test.ts', '**/node_modules/**'],
    globalSetup: ['../test/cluster/src/global-setup.ts'],
    hookTimeout: 60 * 60_000,
    testTimeout: 300_000,
    fileParallelism: true,
    maxWorkers: 2,
    sequence: { groupOrder: 2 },
  },
});
