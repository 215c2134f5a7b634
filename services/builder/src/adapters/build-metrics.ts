import { Counter, Histogram, type Registry } from 'prom-client';

/** The builder's own metrics, beside the shared message metrics of its consumer. */
export interface BuildMetrics {
  /** Builds ended, by method (direct, kaniko, unknown when it failed before choosing) and outcome. */
  readonly builds: Counter<'method' | 'outcome'>;
  readonly buildSeconds: Histogram<'method' | 'outcome'>;
}

export function createBuildMetrics(registry: Registry): BuildMetrics {
  return {
    builds: new Counter({
      name: 'appserving_builds_total',
      help: 'Builds ended, by method and outcome (built, reused, failed).',
      labelNames: ['method', 'outcome'],
      registers: [registry],
    }),
    buildSeconds: new Histogram({
      name: 'appserving_build_seconds',
      help: 'Time from a build command to its result, by method and outcome.',
      labelNames: ['method', 'outcome'],
      buckets: [0.5, 1, 2, 5, 10, 30, 60, 120, 300, 600, 1800],
      registers: [registry],
    }),
  };
}
