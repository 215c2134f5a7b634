import type { Database, Logger } from '@appserving/shared';
import type { ClusterAccess, ClusterAccessProvider } from '@appserving/shared/kube';
import type { Kysely } from 'kysely';
import type { ClusterLeases } from '../adapters/cluster-leases.ts';
import type { ClusterWatch } from './cluster-watch.ts';
import type { StatusChange } from './status-engine.ts';
import type { WatcherMetrics } from './watcher-metrics.ts';

/**
 * Shares the registered clusters among watcher replicas: every `leaseRetryMs` it tries to take each cluster
 * nobody holds (see ClusterLeases), starts a ClusterWatch for each one it gets, restarts a watch whose
 * kubeconfig was replaced, and stops watching clusters that were removed or whose lease was lost.
 */
export interface ClusterSupervisor {
  start(): Promise<void>;
  stop(): Promise<void>;
  /** Routes a release change to the watch of its cluster, if this replica holds it. */
  follow(clusterId: string, releaseId: string, known?: { status: string; canaryWeight: number | null }): void;
  changed(change: StatusChange): void;
  held(): string[];
  watch(clusterId: string): ClusterWatch | undefined;
  /** Lost leases (the lease connection broke): stop those watches at once. */
  lost(clusterIds: readonly string[]): void;
}

export function createClusterSupervisor(deps: {
  db: Kysely<Database>;
  leases: ClusterLeases;
  access: ClusterAccessProvider;
  makeWatch: (cluster: { id: string; name: string }, access: ClusterAccess | null) => ClusterWatch;
  leaseRetryMs: number;
  log: Logger;
  metrics?: WatcherMetrics;
}): ClusterSupervisor {
  const { log } = deps;
  const watches = new Map<string, ClusterWatch>();
  const unusable = new Set<string>();
  let timer: NodeJS.Timeout | undefined;
  let round: Promise<void> | undefined;
  let stopped = true;

  async function stopWatch(clusterId: string, release: boolean): Promise<void> {
    const watch = watches.get(clusterId);
    watches.delete(clusterId);
    deps.metrics?.clustersHeld.set(watches.size);
    await watch?.stop().catch((error: unknown) => log.warn({ err: error, clusterId }, 'stopping a cluster watch failed'));
    if (release) await deps.leases.release(clusterId);
  }

  async function balance(): Promise<void> {
    const clusters = await deps.db.selectFrom('clusters').select(['id', 'name']).where('deleted_at', 'is', null).orderBy('name').execute();
    const live = new Set(clusters.map((c) => c.id));
    for (const id of [...watches.keys()]) if (!live.has(id)) await stopWatch(id, true);
    for (const cluster of clusters) {
      if (stopped) return;
      let access: ClusterAccess | null = null;
      try {
        access = await deps.access.get(cluster.id);
      } catch (error) {
        // Deadlines still hold for its releases: the watch runs without informers until the kubeconfig opens.
        if (!unusable.has(cluster.id)) log.warn({ err: error, cluster: cluster.name }, 'cannot open the cluster\'s kubeconfig; its releases get deadlines only');
        unusable.add(cluster.id);
      }
      if (access) unusable.delete(cluster.id);
      const current = watches.get(cluster.id);
      if (current && current.kubeconfig !== (access?.kubeconfig ?? null)) {
        log.info({ cluster: cluster.name }, 'kubeconfig replaced: restarting the cluster watch');
        await stopWatch(cluster.id, false);
      } else if (current) {
        continue;
      }
      if (!(await deps.leases.tryAcquire(cluster.id))) continue;
      const watch = deps.makeWatch(cluster, access);
      watches.set(cluster.id, watch);
      deps.metrics?.clustersHeld.set(watches.size);
      log.info({ cluster: cluster.name, clusterId: cluster.id }, 'took the cluster\'s lease');
      await watch.start();
    }
  }

  function schedule(): void {
    if (stopped) return;
    timer = setTimeout(() => {
      round = balance()
        .catch((error: unknown) => log.warn({ err: error }, 'could not take or check cluster leases; will retry'))
        .finally(schedule);
    }, deps.leaseRetryMs);
  }

  return {
    async start() {
      stopped = false;
      round = balance().catch((error: unknown) => log.warn({ err: error }, 'could not take cluster leases yet; will retry'));
      await round;
      schedule();
    },
    async stop() {
      stopped = true;
      clearTimeout(timer);
      await round;
      await Promise.all([...watches.keys()].map((id) => stopWatch(id, true)));
      await deps.leases.close();
    },
    follow(clusterId, releaseId, known) {
      watches.get(clusterId)?.follow(releaseId, known);
    },
    changed(change) {
      watches.get(change.record.clusterId)?.changed(change);
    },
    held: () => [...watches.keys()],
    watch: (clusterId) => watches.get(clusterId),
    lost(clusterIds) {
      for (const id of clusterIds) void stopWatch(id, false);
    },
  };
}
