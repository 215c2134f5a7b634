import { hostname } from 'node:os';
import type { NatsConnection } from '@nats-io/nats-core';
import Fastify, { type FastifyInstance } from 'fastify';
import type { ConfigOf } from '../config/index.ts';
import type { commonSettings } from '../config/index.ts';
import { checkDatabase, createDatabase, ensureDatabaseExists, migrateToLatest, type DatabaseHandle } from '../database/index.ts';
import type { Logger } from '../logging/index.ts';
import { connectNats, createMessaging, type ConsumerRunner, type Messaging } from '../messaging/index.ts';
import { createMetrics, type Metrics } from '../telemetry/index.ts';
import { registerOpsRoutes, type ReadinessCheck } from './ops-routes.ts';
import type { ServiceUnit } from './process.ts';
import { retryDuringStartup } from './startup.ts';

export type CommonConfig = ConfigOf<typeof commonSettings>;

/** What every service process has: a NATS connection with the topology ensured, a database, metrics. */
export interface Runtime {
  config: CommonConfig;
  log: Logger;
  metrics: Metrics;
  messaging: Messaging;
  database: DatabaseHandle;
  /** True once shutdown began: readiness turns 503 so load balancers stop sending work. */
  isShuttingDown(): boolean;
  readinessChecks(extra?: readonly ReadinessCheck[]): ReadinessCheck[];
}

export interface RuntimeOptions {
  service: string;
  config: CommonConfig;
  log: Logger;
  /** Share one connection and pool when several services run in one process. */
  shared?: { nc: NatsConnection; database: DatabaseHandle; metrics: Metrics };
}

export interface OwnedRuntime extends Runtime {
  /** Readiness turns 503 from now on. */
  markShuttingDown(): void;
  /** Flushes pending publishes and acks, then closes the connection (no-op for a shared connection). */
  drainNats(): Promise<void>;
  closeDatabase(): Promise<void>;
}

export async function createRuntime(options: RuntimeOptions): Promise<OwnedRuntime> {
  const { config, log } = options;
  const metrics = options.shared?.metrics ?? createMetrics(options.service);
  // NATS or Postgres restarting while this service starts is waited out, as long as NATS is at start-up.
  const startup = { log, timeoutMs: config.natsConnectTimeoutMs };
  const nc =
    options.shared?.nc ??
    (await connectNats(
      {
        servers: config.natsUrl,
        name: `appserving-${options.service}@${hostname()}`,
        connectTimeoutMs: config.natsConnectTimeoutMs,
        ...(config.natsCredsFile ? { credsFile: config.natsCredsFile } : {}),
        ...(config.natsUser ? { user: config.natsUser, password: config.natsPassword } : {}),
      },
      log,
    ));
  let database = options.shared?.database;
  if (!database) {
    await retryDuringStartup('creating the database', () => ensureDatabaseExists(config.databaseUrl), startup);
    database = createDatabase({
      url: config.databaseUrl,
      poolMax: config.databasePoolMax,
      applicationName: `appserving-${options.service}`,
      onPoolError: (error) => log.warn({ err: error }, 'a pooled Postgres connection failed; it was replaced'),
    });
    // Every service migrates at start; the migrator's lock makes concurrent starts safe.
    const created = database.db;
    const applied = await retryDuringStartup('migrating the database', () => migrateToLatest(created), startup);
    if (applied.length > 0) log.info({ applied }, 'database migrated');
  }
  const messaging = await createMessaging({
    nc,
    source: `/appserving/${options.service}`,
    settings: {
      consumerConcurrency: config.consumerConcurrency,
      ackWaitMs: config.ackWaitMs,
      retry: { maxDeliveries: config.maxDeliveries, baseDelayMs: config.retryBaseDelayMs, maxDelayMs: config.retryMaxDelayMs },
    },
    log,
    metrics,
  });
  await retryDuringStartup('ensuring the JetStream streams and consumers', () => messaging.ensureTopology(), startup);

  let shuttingDown = false;
  const db = database;
  return {
    config,
    log,
    metrics,
    messaging,
    database: db,
    isShuttingDown: () => shuttingDown,
    readinessChecks: (extra = []) => [
      {
        name: 'nats',
        check: async () => {
          if (nc.isClosed()) throw new Error('connection closed');
          await nc.flush();
        },
      },
      { name: 'postgres', check: () => checkDatabase(db.db) },
      ...extra,
    ],
    markShuttingDown() {
      shuttingDown = true;
    },
    async drainNats() {
      if (options.shared || nc.isClosed()) return;
      await nc.drain().catch((error: unknown) => log.warn({ err: error }, 'NATS drain failed'));
    },
    async closeDatabase() {
      if (!options.shared) await db.close();
    },
  };
}

/** Readiness of consumers: each must be pulling. */
export function consumerReadiness(runners: readonly ConsumerRunner[]): ReadinessCheck[] {
  return runners.map((r) => ({
    name: `consumer:${r.name}`,
    check: async () => {
      if (!r.isHealthy()) throw new Error('not pulling messages');
    },
  }));
}

/** The small HTTP server of a worker service: health, readiness and metrics only. */
export function createOpsServer(runtime: Runtime, checks: readonly ReadinessCheck[]): FastifyInstance {
  const app = Fastify({ logger: false });
  registerOpsRoutes(app, { registry: runtime.metrics.registry, checks, isShuttingDown: () => runtime.isShuttingDown() });
  return app;
}

/**
 * A worker service: some consumers plus the ops server. Builder, deployer and watcher are each one of these
 * with their own runners.
 */
export function createWorkerUnit(spec: {
  name: string;
  runtime: Runtime;
  httpHost: string;
  httpPort: number;
  runners: readonly ConsumerRunner[];
  /**
   * Extra routes on the ops server (e.g. the deployer's Flagger webhooks), registered before it listens. They
   * share the port of /healthz, /readyz and /metrics.
   */
  routes?: (server: FastifyInstance) => void | Promise<void>;
}): ServiceUnit {
  const { runtime, runners } = spec;
  const server = createOpsServer(runtime, runtime.readinessChecks(consumerReadiness(runners)));
  return {
    name: spec.name,
    async start() {
      if (spec.routes) await spec.routes(server);
      for (const runner of runners) runner.start();
      const address = await server.listen({ host: spec.httpHost, port: spec.httpPort });
      runtime.log.info({ address, consumers: runners.map((r) => r.name) }, `${spec.name} started`);
    },
    async stopConsuming(graceMs) {
      await Promise.all(runners.map((r) => r.stop(graceMs)));
    },
    closeServer: () => server.close(),
  };
}
