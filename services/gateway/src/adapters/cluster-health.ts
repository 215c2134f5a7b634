import type { Database, Logger, SecretBox } from '@appserving/shared';
import type { Kysely } from 'kysely';
import { loadKubeconfig } from './cluster.repository.ts';
import type { ClusterHealth, ClusterProbe } from './cluster-probe.ts';

/**
 * The health of every registered cluster, as this gateway last found it with the probe (the test call of
 * registration): re-checked every `intervalMs` in the background, when a check is asked for, and when a reader
 * finds it older than the interval. Kept in memory: each replica checks for itself, and a restarted gateway checks
 * again before it shows anything but `unknown`.
 */
export interface ClusterHealthMonitor {
  /** The last result, or undefined when the cluster was never checked here; starts a check when it is stale. */
  get(clusterId: string): ClusterHealth | undefined;
  /** Checks the cluster now (one check at a time per cluster: a second caller gets the running one). */
  check(clusterId: string): Promise<ClusterHealth>;
  /** Records a result found elsewhere (the test call of a registration). */
  record(clusterId: string, health: ClusterHealth): void;
  forget(clusterId: string): void;
  start(): void;
  stop(): Promise<void>;
}

export function createClusterHealthMonitor(deps: { db: Kysely<Database>; box: SecretBox; probe: ClusterProbe; intervalMs: number; log: Logger; now?: () => number }): ClusterHealthMonitor {
  const now = deps.now ?? Date.now;
  const results = new Map<string, { health: ClusterHealth; at: number }>();
  const running = new Map<string, Promise<ClusterHealth>>();
  let timer: NodeJS.Timeout | undefined;
  let stopped = true;

  async function probe(clusterId: string): Promise<ClusterHealth> {
    let kubeconfig: string;
    try {
      kubeconfig = await loadKubeconfig(deps.db, deps.box, clusterId);
    } catch (error) {
      return { status: 'error', message: `the cluster's kubeconfig cannot be opened: ${(error as Error).message}`, version: null, missing_permissions: [], checked_at: new Date(now()).toISOString() };
    }
    return deps.probe(kubeconfig);
  }

  function check(clusterId: string): Promise<ClusterHealth> {
    const inFlight = running.get(clusterId);
    if (inFlight) return inFlight;
    const work = probe(clusterId)
      .then((health) => {
        const previous = results.get(clusterId)?.health.status;
        results.set(clusterId, { health, at: now() });
        if (health.status !== 'ok' && previous !== health.status) deps.log.warn({ clusterId, status: health.status, reason: health.message }, 'cluster is not healthy');
        else if (health.status === 'ok' && previous !== undefined && previous !== 'ok') deps.log.info({ clusterId }, 'cluster is healthy again');
        return health;
      })
      .finally(() => running.delete(clusterId));
    running.set(clusterId, work);
    return work;
  }

  async function checkAll(): Promise<void> {
    const clusters = await deps.db.selectFrom('clusters').select('id').where('deleted_at', 'is', null).execute();
    const live = new Set(clusters.map((c) => c.id));
    for (const id of results.keys()) if (!live.has(id)) results.delete(id);
    await Promise.all(clusters.map((c) => check(c.id)));
  }

  function schedule(): void {
    if (stopped || deps.intervalMs === 0) return;
    timer = setTimeout(() => {
      void checkAll()
        .catch((error: unknown) => deps.log.warn({ err: error }, 'could not check the clusters\' health; will retry'))
        .finally(schedule);
    }, deps.intervalMs);
    timer.unref();
  }

  return {
    get(clusterId) {
      const entry = results.get(clusterId);
      const stale = deps.intervalMs > 0 && (!entry || now() - entry.at > deps.intervalMs);
      if (stale && !stopped) void check(clusterId).catch(() => {});
      return entry?.health;
    },
    check,
    record(clusterId, health) {
      results.set(clusterId, { health, at: now() });
    },
    forget(clusterId) {
      results.delete(clusterId);
    },
    start() {
      stopped = false;
      // The first round runs in the background: a cluster that does not answer must not hold up the start.
      void checkAll().catch((error: unknown) => deps.log.warn({ err: error }, 'could not check the clusters\' health yet'));
      schedule();
    },
    async stop() {
      // Checks in flight are not waited for (a cluster that does not answer would hold up the shutdown): their
      // results are simply dropped.
      stopped = true;
      clearTimeout(timer);
    },
  };
}
