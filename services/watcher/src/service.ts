import { AppHealthChangedV1, CanaryAnalysisV1, consumerReadiness, consumers, createOpsServer, createOutboxRelay, ReleaseStatusChangedV1, secretBoxFromConfig, type Runtime, type ServiceUnit } from '@appserving/shared';
import { createClusterAccessProvider } from '@appserving/shared/kube';
import type { Subscription } from '@nats-io/nats-core';
import { createClusterLeases } from './adapters/cluster-leases.ts';
import type { WatcherConfig } from './config.ts';
import { createClusterSupervisor, type ClusterSupervisor } from './engine/cluster-supervisor.ts';
import { createClusterWatch } from './engine/cluster-watch.ts';
import { createStatusEngine } from './engine/status-engine.ts';
import { createWatcherMetrics } from './engine/watcher-metrics.ts';
import { serveLogs } from './handlers/logs.rpc.ts';
import { serveMetrics } from './handlers/metrics.rpc.ts';
import { createProjectionHandlers } from './handlers/projection.handler.ts';
import { createStatusHandlers } from './handlers/status.handler.ts';

export interface Watcher extends ServiceUnit {
  readonly supervisor: ClusterSupervisor;
}

/**
 * The watcher: records every command and event in the timeline (projection), decides each release's status
 * from events and from what it observes on the clusters it holds (status engine, cluster watches), writes it
 * to Postgres and announces it on NATS, and answers pod log requests for the gateway.
 */
export function createWatcher(runtime: Runtime, config: WatcherConfig): Watcher {
  const db = runtime.database.db;
  const log = runtime.log.child({ component: 'watcher' });
  const metrics = createWatcherMetrics(runtime.metrics.registry);
  const { box } = secretBoxFromConfig(config);
  const access = createClusterAccessProvider({ db, box });
  const relay = createOutboxRelay({ db, publisher: runtime.messaging.publisher, log, types: [ReleaseStatusChangedV1, CanaryAnalysisV1, AppHealthChangedV1] });

  // The engine and the leases call back into the supervisor, which is built from them (called only after start).
  const engine = createStatusEngine({ db, relay, log, metrics, onChange: (change) => held.changed(change) });
  const leases = createClusterLeases({ url: config.databaseUrl, log, onLost: (ids) => held.lost(ids) });
  const held: ClusterSupervisor = createClusterSupervisor({
    db,
    leases,
    access,
    leaseRetryMs: config.leaseRetryMs,
    log,
    metrics,
    makeWatch: (cluster, clusterAccess) => createClusterWatch({ cluster, access: clusterAccess, db, engine, settings: config, log, metrics }),
  });

  const projection = createProjectionHandlers({ db });
  const status = createStatusHandlers({ engine, db: runtime.database.db });
  const runners = [
    runtime.messaging.consumer(consumers.projectionCommands, projection.commands),
    runtime.messaging.consumer(consumers.projectionEvents, projection.events),
    runtime.messaging.consumer(consumers.statusEvents, status.events),
    runtime.messaging.consumer(consumers.statusCommands, status.commands),
  ];
  const server = createOpsServer(runtime, runtime.readinessChecks(consumerReadiness(runners)));
  const subscriptions: Subscription[] = [];

  return {
    name: 'watcher',
    supervisor: held,
    async start() {
      relay.start();
      for (const runner of runners) runner.start();
      subscriptions.push(serveLogs({ nc: runtime.messaging.nc, db, access, log }));
      subscriptions.push(serveMetrics({ nc: runtime.messaging.nc, db, access, log, queryTimeoutMs: config.metricsQueryTimeoutMs }));
      // Status changes decided by another replica (or an event handled there) reach the holder of the cluster.
      subscriptions.push(
        runtime.messaging.nc.subscribe(`${ReleaseStatusChangedV1.subjectPattern.replace(/\*$/, '>')}`, {
          callback: (error, msg) => {
            if (error) return;
            try {
              const event = msg.json<{ data?: { release?: { cluster_id?: string; release_id?: string }; status?: string; canary_weight?: number } }>();
              const release = event.data?.release;
              if (release?.cluster_id && release.release_id) {
                held.follow(release.cluster_id, release.release_id, { status: event.data?.status ?? '', canaryWeight: event.data?.canary_weight ?? null });
              }
            } catch {
              // not ours to judge: the projection records (or dead-letters) it
            }
          },
        }),
      );
      await held.start();
      const address = await server.listen({ host: config.httpHost, port: config.httpPort });
      log.info({ address, consumers: runners.map((r) => r.name), clusters: held.held().length }, 'watcher started');
    },
    async stopConsuming(graceMs) {
      for (const subscription of subscriptions) subscription.unsubscribe();
      await Promise.all(runners.map((r) => r.stop(graceMs)));
      await held.stop();
      await relay.stop();
    },
    closeServer: () => server.close(),
  };
}
