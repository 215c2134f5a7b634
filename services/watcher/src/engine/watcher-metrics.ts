import { Counter, Gauge, type Registry } from 'prom-client';

/** The watcher's own metrics, registered on the process registry (served at /metrics). */
export interface WatcherMetrics {
  transitions: Counter<'status'>;
  diagnoses: Counter<'code'>;
  relists: Counter<'cluster' | 'kind'>;
  watchErrors: Counter<'cluster' | 'kind'>;
  clustersHeld: Gauge;
  releasesFollowed: Gauge;
  analysisSteps: Counter<'verdict'>;
}

export function createWatcherMetrics(registry: Registry): WatcherMetrics {
  const registers = [registry];
  // A second watcher in the same process (the all-in-one platform and tests) shares the registry.
  const existing = <T>(name: string) => registry.getSingleMetric(name) as T | undefined;
  return {
    transitions:
      existing('appserving_watcher_status_changes_total') ??
      new Counter({ name: 'appserving_watcher_status_changes_total', help: 'Release status changes written, by new status.', labelNames: ['status'], registers }),
    diagnoses:
      existing('appserving_watcher_diagnoses_total') ??
      new Counter({ name: 'appserving_watcher_diagnoses_total', help: 'Releases failed with a diagnosis, by code.', labelNames: ['code'], registers }),
    relists:
      existing('appserving_watcher_relists_total') ??
      new Counter({
        name: 'appserving_watcher_relists_total',
        help: 'Full lists of a kind on a cluster: the first one, and each after an expired (410) or broken watch.',
        labelNames: ['cluster', 'kind'],
        registers,
      }),
    watchErrors:
      existing('appserving_watcher_watch_errors_total') ??
      new Counter({ name: 'appserving_watcher_watch_errors_total', help: 'Watches that ended with an error (they restart with backoff).', labelNames: ['cluster', 'kind'], registers }),
    clustersHeld: existing('appserving_watcher_clusters_held') ?? new Gauge({ name: 'appserving_watcher_clusters_held', help: 'Clusters this replica holds the lease of and watches.', registers }),
    releasesFollowed:
      existing('appserving_watcher_releases_followed') ?? new Gauge({ name: 'appserving_watcher_releases_followed', help: 'Releases (running, or live) this replica follows.', registers }),
    analysisSteps:
      existing('appserving_watcher_analysis_steps_total') ??
      new Counter({ name: 'appserving_watcher_analysis_steps_total', help: 'Canary analysis steps recorded, by verdict.', labelNames: ['verdict'], registers }),
  };
}
