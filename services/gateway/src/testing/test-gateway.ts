import { Writable } from 'node:stream';
import { createDatabase, createMessaging, createPublisher, createSecretBox, DEV_SECRET_KEY, migrateToLatest, type DatabaseHandle } from '@appserving/shared';
import { createThrowawayDatabase, startTestNatsServer, type TestNatsServer } from '@appserving/shared/testing';
import { jetstream } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import Fastify from 'fastify';
import { pino, type Logger } from 'pino';
import { Registry } from 'prom-client';
import { Pool } from 'undici';
import { checkImageReference, createArtifactStore, type HostResolver } from '@appserving/shared/artifacts';
import { artifactUrlChecker } from '../adapters/artifact-check.ts';
import { createClusterHealthMonitor } from '../adapters/cluster-health.ts';
import { createClusterProbe, type ClusterProbe } from '../adapters/cluster-probe.ts';
import { inspectKubeconfig } from '../domain/kubeconfig.ts';
import { createOutboxRelay, type OutboxRelay } from '../adapters/outbox.ts';
import { projectForNewApp } from '../adapters/project.repository.ts';
import { securityWarnings } from '../adapters/security-warnings.ts';
import { frameworkErrors, gatewayApp } from '../app.ts';
import { createApiToken } from '../auth/api-tokens.ts';
import { visibleProjectIds } from '../auth/principal.ts';
import { createAuthFailureThrottle } from '../auth/failure-throttle.ts';
import { createPrincipalCache, shareRevocations } from '../auth/principal-cache.ts';

/**
 * A real gateway for tests and benchmarks, built the way `routes/apps.routes.test.ts` builds it: its own
 * nats-server (never the machine's), a throw-away Postgres database, migrations, a `local` default cluster,
 * an admin token, the outbox relay, and fastify listening on 127.0.0.1 on a free port.
 */
export interface TestGateway {
  base: string;
  adminToken: string;
  clusterId: string;
  database: DatabaseHandle;
  /** URL of the throw-away database (for a second process, e.g. a benchmark's floor). */
  databaseUrl: string;
  nc: NatsConnection;
  nats: TestNatsServer;
  outbox: OutboxRelay;
  /** Log lines at level warn or above written by the gateway (parsed JSON), newest last. */
  logs: Record<string, unknown>[];
  close(): Promise<void>;
}

export interface TestGatewayOptions {
  /** Postgres server to create the throw-away database on. */
  databaseServer?: string;
  /** Gateway log level ('silent' by default; 'info' logs every request like production does). */
  logLevel?: 'silent' | 'error' | 'warn' | 'info';
  /** Postgres pool size of the gateway (production default 10). */
  poolMax?: number;
  artifactMaxBytes?: number;
  /** Token cache ttl (production default 10 s; 0: look up every request). */
  tokenCacheMs?: number;
  /**
   * The platform's registry (APPSERVING_REGISTRY), whose images are always allowed: by default the local test
   * cluster's (APPSERVING_TEST_REGISTRY) in the cluster project, else 127.0.0.1:5000.
   */
  registry?: string;
  /**
   * The test call of cluster registration and health. Default: the real probe (a registered kubeconfig must reach a
   * real API server, e.g. the local test cluster's).
   */
  clusterProbe?: ClusterProbe;
  /** APPSERVING_CLUSTER_HOST_ALLOWLIST entries (default: 127.0.0.1, where test API servers listen). */
  clusterHostAllowlist?: { host: string; port?: number }[];
  /** Failed authentications per address before 429 (production default 20 a minute). */
  authFailureLimit?: number;
}

/**
 * Names never resolve for real in tests: `metadata.test` "resolves" to the cloud metadata address, `internal.test` to
 * a private one, every other host to a public documentation address, never dialed.
 */
export const testResolver: HostResolver = async (host) => (host === 'metadata.test' ? ['169.254.169.254'] : host === 'internal.test' ? ['10.1.2.3'] : ['93.184.215.14']);

/**
 * The real probe, kept on this machine (no connection leaves it in tests, DESIGN.md §7): a kubeconfig whose API
 * server is not on loopback, or that names a proxy, is answered `unreachable` without a connection being tried.
 */
function loopbackOnly(probe: ClusterProbe): ClusterProbe {
  return async (kubeconfig) => {
    let local: boolean;
    try {
      const summary = inspectKubeconfig(kubeconfig);
      const host = new URL(summary.apiServerUrl).hostname;
      local = summary.proxyUrl === undefined && (host === '127.0.0.1' || host === '[::1]' || host === 'localhost');
    } catch {
      // Not a kubeconfig the platform takes (the routes inspect it first): nothing to connect to.
      local = false;
    }
    if (local) return probe(kubeconfig);
    return { status: 'unreachable', message: 'the test gateway connects to API servers on 127.0.0.1 only', version: null, missing_permissions: [], checked_at: new Date().toISOString() };
  };
}

export const defaultDatabaseServer = process.env.APPSERVING_TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

export async function startTestGateway(options: TestGatewayOptions = {}): Promise<TestGateway> {
  const logs: Record<string, unknown>[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString('utf8').split('\n')) {
        if (!line || !/"level":[4-6]0/.test(line)) continue;
        try {
          const entry = JSON.parse(line) as Record<string, unknown>;
          if (typeof entry.level === 'number' && entry.level >= 40) logs.push(entry);
        } catch {
          // not JSON: not ours
        }
      }
      done();
    },
  });
  const level = options.logLevel ?? 'silent';
  const log: Logger = pino({ level }, sink);
  // Warnings and errors are always kept (a 5xx is logged at error), whatever `logLevel` says.
  const httpLog: Logger = pino({ level: level === 'silent' ? 'warn' : level }, sink);

  const nats = await startTestNatsServer();
  const nc = await connect({ servers: nats.url, maxReconnectAttempts: -1, reconnectTimeWait: 200, noAsyncTraces: true });
  const messaging = await createMessaging({
    nc,
    source: '/test',
    settings: { consumerConcurrency: 1, ackWaitMs: 5_000, retry: { maxDeliveries: 3, baseDelayMs: 100, maxDelayMs: 1_000 } },
    log,
  });
  await messaging.ensureTopology();
  const throwaway = await createThrowawayDatabase(options.databaseServer ?? defaultDatabaseServer);
  const database = createDatabase({ url: throwaway.url, onPoolError: () => {}, ...(options.poolMax ? { poolMax: options.poolMax } : {}) });
  await migrateToLatest(database.db);
  const clusterId = (
    await database.db
      .insertInto('clusters')
      .values({ name: 'local', api_server_url: 'https://127.0.0.1:6443', kubeconfig_encrypted: Buffer.from('x'), is_default: true })
      .returning('id')
      .executeTakeFirstOrThrow()
  ).id;
  const outbox = createOutboxRelay({ db: database.db, publisher: createPublisher({ js: jetstream(nc), source: '/appserving/gateway' }), log, staleAfterMs: 300, intervalMs: 200 });
  outbox.start();
  const adminToken = (await createApiToken(database.db, { name: 'test admin', admin: true, projectIds: [] })).token;
  const box = createSecretBox([DEV_SECRET_KEY]);
  const artifacts = await createArtifactStore({ connection: nc, maxBytes: options.artifactMaxBytes ?? 1024 * 1024 });
  const app = Fastify({ loggerInstance: httpLog, bodyLimit: 4 * 1024 * 1024, frameworkErrors });
  const principalCache = createPrincipalCache({ ttlMs: options.tokenCacheMs ?? 10_000 });
  const probe = options.clusterProbe ?? loopbackOnly(createClusterProbe({ timeoutMs: 5_000 }));
  const clusterHealth = createClusterHealthMonitor({ db: database.db, box, probe, intervalMs: 0, log });
  const revocations = principalCache ? shareRevocations(nc, principalCache) : undefined;
  const warnings = await securityWarnings({ developmentKey: true, natsUrl: nats.url });
  await app.register(gatewayApp, {
    principalCache,
    ...(revocations ? { announceRevoked: revocations.announce } : {}),
    db: database.db,
    box,
    js: jetstream(nc),
    nc,
    artifacts,
    registry: new Registry(),
    checks: [],
    isShuttingDown: () => false,
    clusters: { addresses: { allowlist: options.clusterHostAllowlist ?? [{ host: '127.0.0.1' }], resolve: testResolver }, probe, health: clusterHealth },
    authThrottle: createAuthFailureThrottle({ limit: options.authFailureLimit ?? 20, windowMs: 60_000 }),
    // Found the way the service finds them: this gateway's NATS takes anonymous clients, and its key is the development one.
    warnings: () => warnings,
    apps: {
      db: database.db,
      outbox,
      source: '/appserving/gateway',
      principalOf: (request) => ({ id: request.principal?.tokenId ?? 'none', projects: visibleProjectIds(request.principal) }),
      projectFor: projectForNewApp,
      sealSecrets: (plaintext, releaseId) => box.encrypt(plaintext, `release-secrets:${releaseId}`),
      openSecrets: (ciphertext, releaseId) => box.decrypt(ciphertext, `release-secrets:${releaseId}`),
      checkArtifactUrl: artifactUrlChecker({ store: artifacts, policy: { resolve: testResolver } }),
      checkImageUrl: (reference, cluster) =>
        checkImageReference(reference, {
          platformRegistry: options.registry ?? process.env.APPSERVING_TEST_REGISTRY ?? '127.0.0.1:5000',
          clusterRegistries: cluster.image_registries,
          clusterName: cluster.name,
          resolve: testResolver,
        }),
    },
  });
  const base = await app.listen({ host: '127.0.0.1', port: 0 });

  return {
    base,
    adminToken,
    clusterId,
    database,
    databaseUrl: throwaway.url,
    nc,
    nats,
    outbox,
    logs,
    async close() {
      await app.close();
      await outbox.stop();
      await database.close();
      await nc.close();
      await nats.dispose();
      await throwaway.drop();
    },
  };
}

/** A keep-alive HTTP client for `base` with up to `connections` sockets (undici Pool). */
export function httpPool(base: string, connections: number): Pool {
  return new Pool(base, { connections, pipelining: 1, keepAliveTimeout: 30_000 });
}
