import { defineConfig } from 'vitest/config';

/**
 * The whole suite, in three projects:
 * - unit: pure logic (`*.unit.test.ts`), no services;
 * - integration: against the real NATS and Postgres (each test file starts its own NATS server and creates
 *   its own database, so files run in parallel without touching each other or a running platform);
 * - cluster: against the local Kubernetes control plane (test/cluster), started once by its global setup;
 * - deploy: the platform's own chart and images (deploy/), on the same cluster.
 */
export default defineConfig({
  test: {
    reporters: ['default', './test/support/summary-reporter.ts'],
    projects: [
      {
        test: {
          name: 'unit',
          include: ['packages/*/src/**/*.unit.test.ts', 'services/*/src/**/*.unit.test.ts', 'deploy/tests/**/*.unit.test.ts'],
        },
      },
      {
        test: {
          name: 'integration',
          include: ['packages/*/src/**/*.test.ts', 'services/*/src/**/*.test.ts', 'test/integration/**/*.test.ts'],
          exclude: ['**/*.unit.test.ts', '**/*.cluster.test.ts', '**/node_modules/**'],
          testTimeout: 60_000,
          hookTimeout: 60_000,
        },
      },
      './test/cluster/vitest.config.ts',
      // The platform chart and images (deploy/): local cluster, NATS and Postgres.
      './deploy/vitest.config.ts',
    ],
  },
});
