import { fileURLToPath } from 'node:url';
import type { ConfigOf, Runtime, ServiceUnit } from '@appserving/shared';
import { releaseSecretsAad, retryDuringStartup, secretBoxFromConfig } from '@appserving/shared';
import Fastify from 'fastify';
import { Histogram } from 'prom-client';
import { checkImageReference, createArtifactStore, parseArtifactHostAllowlist, parseHostAllowlist, type ArtifactStore } from '@appserving/shared/artifacts';
import { artifactUrlChecker } from './adapters/artifact-check.ts';
import { createClusterHealthMonitor } from './adapters/cluster-health.ts';
import { createClusterProbe } from './adapters/cluster-probe.ts';
import { securityWarnings } from './adapters/security-warnings.ts';
import { createHousekeeping, type Housekeeping } from './adapters/housekeeping.ts';
import { createOutboxRelay } from './adapters/outbox.ts';
import { projectForNewApp } from './adapters/project.repository.ts';
import { frameworkErrors, gatewayApp } from './app.ts';
import { prepareAccess } from './auth/access-startup.ts';
import { visibleProjectIds } from './auth/principal.ts';
import { createAuthFailureThrottle } from './auth/failure-throttle.ts';
import { createPrincipalCache, shareRevocations } from './auth/principal-cache.ts';
import { CLUSTER_HOST_ALLOWLIST_SETTING } from './domain/cluster-addresses.ts';
import type { gatewaySettings } from './config.ts';

export type GatewayConfig = ConfigOf<typeof gatewaySettings>;

/** The web console's build in this repository (packages/web/dist). */
const repositoryWebDir = fileURLToPath(new URL('../../../packages/web/dist', import.meta.url));

export function createGateway(runtime: Runtime, config: GatewayConfig): ServiceUnit {
  const db = runtime.database.db;
  const { box, developmentKey } = secretBoxFromConfig(config);
  const allowlist = parseArtifactHostAllowlist(config.artifactHostAllowlist);
  const clusterHosts = parseHostAllowlist(config.clusterHostAllowlist, CLUSTER_HOST_ALLOWLIST_SETTING);
  const probe = createClusterProbe({ timeoutMs: config.clusterProbeTimeoutMs });
  const clusterHealth = createClusterHealthMonitor({ db, box, probe, intervalMs: config.clusterHealthIntervalMs, log: runtime.log.child({ component: 'cluster-health' }) });
  const outbox = createOutboxRelay({ db, publisher: runtime.messaging.publisher, log: runtime.log.child({ component: 'outbox' }) });
  const app = Fastify({
    loggerInstance: runtime.log.child({ component: 'http' }),
    bodyLimit: 4 * 1024 * 1024,
    frameworkErrors,
    // Registering the API (schemas, the OpenAPI document, the console's files) took over fastify's 10 s default on a
    // loaded machine and stopped the start; a slow start is not a failed one.
    pluginTimeout: 120_000,
  });
  let store: ArtifactStore | undefined;
  let housekeeping: Housekeeping | undefined;
  const principalCache = createPrincipalCache({ ttlMs: config.tokenCacheMs });
  const authThrottle = createAuthFailureThrottle({ limit: config.authFailureLimit, windowMs: config.authFailureWindowMs });
  // What an operator must hear about at start and sees in /readyz for as long as it holds.
  const warnings: string[] = [];
  const nc = runtime.messaging.nc;
  const createBatchSize = new Histogram({
    name: 'appserving_gateway_create_batch_size',
    help: 'New apps written per statement (the group commit of POST /apps).',
    buckets: [1, 2, 4, 8, 16, 32, 64],
    registers: [runtime.metrics.registry],
  });

  return {
    name: 'gateway',
    async start() {
      const startup = { log: runtime.log, timeoutMs: config.natsConnectTimeoutMs };
      await retryDuringStartup('preparing access (admin token, local cluster)', () => prepareAccess({ db, box, config: { ...config, clusterHosts }, log: runtime.log, developmentKey }), startup);
      // prepareAccess has said so about the development key already; the rest is said here, once.
      for (const warning of await securityWarnings({ developmentKey, natsUrl: config.natsUrl })) {
        if (!warning.startsWith('APPSERVING_SECRET_KEYS')) runtime.log.warn(warning);
        warnings.push(warning);
      }
      store = await retryDuringStartup('opening the artifact store', () => createArtifactStore({ connection: runtime.messaging.nc, maxBytes: config.artifactMaxBytes }), startup);
      const artifacts = store;
      housekeeping = createHousekeeping({
        db,
        log: runtime.log.child({ component: 'housekeeping' }),
        settings: { idempotencyKeyTtlMs: config.idempotencyKeyTtlMs, outboxRetentionMs: config.outboxRetentionMs, artifactRetentionMs: config.artifactRetentionMs },
        artifacts,
      });
      // Revocations by other replicas drop the token from this one's cache, and ours reach them.
      const revocations = principalCache ? shareRevocations(nc, principalCache) : undefined;
      await app.register(gatewayApp, {
        principalCache,
        ...(revocations ? { announceRevoked: revocations.announce } : {}),
        db,
        box,
        registry: runtime.metrics.registry,
        checks: runtime.readinessChecks(),
        isShuttingDown: () => runtime.isShuttingDown(),
        artifacts,
        js: runtime.messaging.js,
        nc,
        webDir: config.webDir === 'off' ? undefined : config.webDir || repositoryWebDir,
        clusters: { addresses: { allowlist: clusterHosts }, probe, health: clusterHealth },
        authThrottle,
        warnings: () => warnings,
        apps: {
          db,
          outbox,
          source: '/appserving/gateway',
          onCreateBatch: (size) => createBatchSize.observe(size),
          principalOf: (request) => {
            if (!request.principal) throw new Error('no principal on a protected route');
            return { id: request.principal.tokenId, projects: visibleProjectIds(request.principal) };
          },
          projectFor: projectForNewApp,
          sealSecrets: (plaintext, releaseId) => box.encrypt(plaintext, releaseSecretsAad(releaseId)),
          openSecrets: (ciphertext, releaseId) => box.decrypt(ciphertext, releaseSecretsAad(releaseId)),
          checkArtifactUrl: artifactUrlChecker({ store: artifacts, policy: { allowlist } }),
          checkImageUrl: (reference, cluster) =>
            checkImageReference(reference, { platformRegistry: config.registry, clusterRegistries: cluster.image_registries, clusterName: cluster.name }),
        },
      });
      outbox.start();
      housekeeping.start();
      clusterHealth.start();
      const address = await app.listen({ host: config.httpHost, port: config.httpPort });
      runtime.log.info({ address }, 'gateway listening');
    },
    // The gateway consumes nothing; the outbox relay stops before NATS drains.
    stopConsuming: async () => {
      await housekeeping?.stop();
      await clusterHealth.stop();
      await outbox.stop();
    },
    closeServer: () => app.close(),
  };
}
