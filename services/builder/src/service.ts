import {
  consumerReadiness,
  consumers,
  createOpsServer,
  retryDuringStartup,
  secretBoxFromConfig,
  type ConfigOf,
  type Runtime,
  type ServiceUnit,
} from '@appserving/shared';
import { createClusterAccessProvider } from '@appserving/shared/kube';
import { createArtifactStore, type ArtifactStore, type HostResolver } from '@appserving/shared/artifacts';
import Fastify, { type FastifyInstance } from 'fastify';
import { registerBuildArtifactsRoute } from './adapters/build-artifacts.route.ts';
import { createBuildMetrics } from './adapters/build-metrics.ts';
import { KanikoBuilds } from './adapters/kaniko-builds.ts';
import { RegistryClient } from './adapters/registry/registry-client.ts';
import type { builderSettings } from './config.ts';
import { buildHandler } from './handlers/build.handler.ts';
import { deleteHandler } from './handlers/delete.handler.ts';

export type BuilderConfig = ConfigOf<typeof builderSettings>;

export interface BuilderOptions {
  /** Tests only: how artifact hosts resolve (tests never use real DNS). */
  resolve?: HostResolver;
}

/**
 * The builder: consumes build commands (and deletes, which cancel builds), makes images by a direct layer push
 * or in Kaniko Pods on the target cluster, and publishes what happened. Its HTTP server has health, readiness and
 * metrics, and hands build Pods their artifact (`/build-artifacts/…`, token per build).
 */
export function createBuilder(runtime: Runtime, config: BuilderConfig, options: BuilderOptions = {}): ServiceUnit {
  const { box } = secretBoxFromConfig(config);
  const clusters = createClusterAccessProvider({ db: runtime.database.db, box });
  const registryHost = config.registry.split('/')[0] ?? '';
  const registry = new RegistryClient({
    plainHttpHosts: config.registryPlainHttp && registryHost ? [registryHost] : [],
    credentials: (host) => (host === registryHost && config.registryUsername ? { username: config.registryUsername, password: config.registryPassword } : undefined),
  });
  const kaniko = new KanikoBuilds({ clusters, namespace: config.buildNamespace });
  let store: ArtifactStore | undefined;
  const runner = runtime.messaging.consumer(consumers.builder, [
    buildHandler({
      config,
      publisher: runtime.messaging.publisher,
      db: runtime.database.db,
      clusters,
      box,
      registry,
      kaniko,
      maxDeliveries: runtime.config.maxDeliveries,
      metrics: createBuildMetrics(runtime.metrics.registry),
      store: () => {
        if (!store) throw new Error('the artifact store is opened at start');
        return store;
      },
      ...(options.resolve ? { resolve: options.resolve } : {}),
    }),
    deleteHandler({ kaniko, publisher: runtime.messaging.publisher }),
  ]);
  const server = createOpsServer(runtime, runtime.readinessChecks(consumerReadiness([runner])));
  registerBuildArtifactsRoute(server, { box, store: () => store });
  // Build Pods that cannot reach the ops server's address download their artifact here, and find nothing else.
  const podServer = config.builderPodListen ? createPodArtifactServer() : undefined;
  if (podServer) registerBuildArtifactsRoute(podServer, { box, store: () => store });

  return {
    name: 'builder',
    async start() {
      const startup = { log: runtime.log, timeoutMs: config.natsConnectTimeoutMs };
      store = await retryDuringStartup('opening the artifact store', () => createArtifactStore({ connection: runtime.messaging.nc, maxBytes: config.artifactMaxBytes }), startup);
      if (!config.registry) runtime.log.warn('APPSERVING_REGISTRY is not set: every build will fail until it names a registry to push to');
      if (!config.builderPublicUrl) {
        runtime.log.warn(
          { url: `http://${config.httpHost}:${config.httpPort}` },
          'APPSERVING_BUILDER_PUBLIC_URL is not set: Kaniko build Pods will download artifacts from this address, which only works if the cluster reaches it',
        );
      }
      runner.start();
      const address = await server.listen({ host: config.httpHost, port: config.httpPort });
      if (podServer) {
        const { host, port } = splitHostPort(config.builderPodListen);
        const podAddress = await podServer.listen({ host, port });
        runtime.log.info({ address: podAddress }, 'build artifact downloads for build Pods served here too');
      }
      runtime.log.info({ address, registry: config.registry || null, buildNamespace: config.buildNamespace, defaultMethod: config.buildDefaultMethod }, 'builder started');
    },
    stopConsuming: (graceMs) => runner.stop(graceMs),
    async closeServer() {
      await server.close();
      await podServer?.close();
      await registry.close();
    },
  };
}

/** The artifact-only server of APPSERVING_BUILDER_POD_LISTEN (no health, readiness or metrics there). */
function createPodArtifactServer(): FastifyInstance {
  return Fastify({ logger: false });
}

function splitHostPort(value: string): { host: string; port: number } {
  const colon = value.lastIndexOf(':');
  return { host: value.slice(0, colon).replace(/^\[(.*)\]$/, '$1'), port: Number(value.slice(colon + 1)) };
}
