/* eslint-disable @typescript-eslint/no-explicit-any -- recorded events are read as loose JSON by tests */
import { readFileSync } from 'node:fs';
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  BuildCommandV1,
  streams,
  createDatabase,
  createMessaging,
  createRuntime,
  kubeconfigAad,
  loadConfig,
  migrateToLatest,
  secretBoxFromConfig,
  type DatabaseHandle,
  type Messaging,
  type OwnedRuntime,
  type ReleaseRefV1,
  type ReleaseSpecV1,
  type ServiceUnit,
} from '@appserving/shared';
import { createArtifactStore, type ArtifactStore } from '@appserving/shared/artifacts';
import { createThrowawayDatabase, freePort, startTestNatsServer, type TestNatsServer } from '@appserving/shared/testing';
import { jetstream } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { pino } from 'pino';
import { builderSettings } from '../config.ts';
import { createBuilder, type BuilderConfig, type BuilderOptions } from '../service.ts';

/**
 * The builder's surroundings for one test file, all real: a private nats-server, a throw-away Postgres
 * database with the local cluster registered (its kubeconfig sealed like the gateway seals it) and an app, a
 * recorder of every command and event, and builders started with the settings a scenario needs.
 */
export interface BuilderWorld {
  nats: TestNatsServer;
  nc: NatsConnection;
  messaging: Messaging;
  database: DatabaseHandle;
  databaseUrl: string;
  store: ArtifactStore;
  clusterId: string;
  /** Every message seen on appserving.> (commands and events), parsed, in order. */
  messages: RecordedMessage[];
  env(overrides?: Record<string, string>): Record<string, string>;
  startBuilder(overrides?: Record<string, string>, options?: BuilderOptions): Promise<RunningBuilder>;
  createApp(name: string): Promise<{ appId: string }>;
  ref(app: { appId: string }, name: string, version?: number): ReleaseRefV1;
  build(ref: ReleaseRefV1, spec: ReleaseSpecV1, thenDeploy?: boolean): Promise<void>;
  eventsOf(releaseId: string): RecordedMessage[];
  waitForResult(releaseId: string, timeoutMs?: number): Promise<RecordedMessage>;
  /** The first recorded message of a release that `match` accepts, waiting for it. */
  waitForMessage(releaseId: string, match: (m: RecordedMessage) => boolean, timeoutMs?: number): Promise<RecordedMessage>;
  close(): Promise<void>;
}

export interface RecordedMessage {
  subject: string;
  id: string;
  type: string;
  data: Record<string, any>;
}

export interface RunningBuilder {
  config: BuilderConfig;
  runtime: OwnedRuntime;
  unit: ServiceUnit;
  stop(): Promise<void>;
}

export function baseSpec(overrides: Partial<ReleaseSpecV1> = {}): ReleaseSpecV1 {
  return { port: 8080, resource_spec: 'small', strategy: 'rolling', env: {}, config: {}, secret_names: [], volumes: [], replicas: 1, ...overrides };
}

export async function startBuilderWorld(options: { kubeconfigPath: string; registryHost: string }): Promise<BuilderWorld> {
  const nats = await startTestNatsServer();
  const nc = await connect({ servers: nats.url, maxReconnectAttempts: -1, reconnectTimeWait: 200 });
  const log = pino({ level: 'silent' });
  const messaging = await createMessaging({
    nc,
    source: '/test',
    settings: { consumerConcurrency: 1, ackWaitMs: 5_000, retry: { maxDeliveries: 3, baseDelayMs: 100, maxDelayMs: 1_000 } },
    log,
  });
  await messaging.ensureTopology();
  const throwaway = await createThrowawayDatabase(process.env.APPSERVING_TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres');
  const database = createDatabase({ url: throwaway.url, onPoolError: () => {} });
  await migrateToLatest(database.db);
  const { box } = secretBoxFromConfig({ secretKeys: '', databaseUrl: throwaway.url });
  const clusterId = randomUUID();
  await database.db
    .insertInto('clusters')
    .values({ id: clusterId, name: 'local', api_server_url: 'https://127.0.0.1:26400', kubeconfig_encrypted: box.encrypt(readFileSync(options.kubeconfigPath, 'utf8'), kubeconfigAad(clusterId)), is_default: true })
    .execute();
  const store = await createArtifactStore({ connection: nc, maxBytes: 64 * 1024 * 1024 });

  const messages: RecordedMessage[] = [];
  // What the streams stored (a repeated id is dropped there), in order: an ordered consumer per stream.
  const js = jetstream(nc);
  const recorders = await Promise.all(
    [streams.commands.name, streams.events.name].map(async (stream) => {
      const consumer = await js.consumers.get(stream);
      const messagesOf = await consumer.consume();
      void (async () => {
        for await (const msg of messagesOf) {
          try {
            const body = msg.json<{ id: string; type: string; data: Record<string, any> }>();
            messages.push({ subject: msg.subject, id: body.id, type: body.type, data: body.data });
          } catch {
            // not a CloudEvent: not recorded
          }
        }
      })();
      return messagesOf;
    }),
  );
  const running = new Set<RunningBuilder>();

  const env = (overrides: Record<string, string> = {}) => ({
    APPSERVING_NATS_URL: nats.url,
    APPSERVING_DATABASE_URL: throwaway.url,
    APPSERVING_LOG_LEVEL: process.env.APPSERVING_TEST_LOG_LEVEL ?? 'silent',
    APPSERVING_REGISTRY: options.registryHost,
    APPSERVING_REGISTRY_PLAIN_HTTP: 'true',
    APPSERVING_ACK_WAIT_MS: '5000',
    APPSERVING_RETRY_BASE_DELAY_MS: '200',
    APPSERVING_MAX_DELIVERIES: '4',
    APPSERVING_SHUTDOWN_GRACE_MS: '1000',
    APPSERVING_BUILD_POLL_INTERVAL_MS: '250',
    ...overrides,
  });

  const world: BuilderWorld = {
    nats,
    nc,
    messaging,
    database,
    databaseUrl: throwaway.url,
    store,
    clusterId,
    messages,
    env,
    async startBuilder(overrides = {}, builderOptions = {}) {
      const config = loadConfig(builderSettings, env({ APPSERVING_BUILDER_PORT: String(await freePort()), ...overrides }));
      const runtime = await createRuntime({ service: 'builder', config, log: pino({ level: config.logLevel }) });
      const unit = createBuilder(runtime, config, builderOptions);
      await unit.start();
      const builder: RunningBuilder = {
        config,
        runtime,
        unit,
        async stop() {
          running.delete(builder);
          await unit.stopConsuming(config.shutdownGraceMs);
          await runtime.drainNats();
          await unit.closeServer();
          await runtime.closeDatabase();
        },
      };
      running.add(builder);
      return builder;
    },
    async createApp(name) {
      const row = await database.db.insertInto('apps').values({ name, cluster_id: clusterId, app_type: 'jar', strategy: 'rolling' }).returning('id').executeTakeFirstOrThrow();
      return { appId: row.id };
    },
    ref(app, name, version = 1) {
      return { app_id: app.appId, app_name: name, release_id: randomUUID(), version, cluster_id: clusterId };
    },
    async build(ref, spec, thenDeploy = false) {
      await messaging.publisher.publish(BuildCommandV1, { id: randomUUID(), appId: ref.app_id, data: { release: ref, spec, then_deploy: thenDeploy } });
    },
    eventsOf(releaseId) {
      return messages.filter((m) => (m.data?.release as { release_id?: string } | undefined)?.release_id === releaseId);
    },
    waitForResult(releaseId, timeoutMs = 60_000) {
      return world.waitForMessage(releaseId, (m) => m.type === 'dev.appserving.build.succeeded.v1' || m.type === 'dev.appserving.build.failed.v1', timeoutMs);
    },
    async waitForMessage(releaseId, match, timeoutMs = 10_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const found = world.eventsOf(releaseId).find(match);
        if (found) return found;
        if (Date.now() > deadline) throw new Error(`no such message for ${releaseId} within ${timeoutMs} ms; saw ${JSON.stringify(world.eventsOf(releaseId).map((m) => m.type))}`);
        await sleep(100);
      }
    },
    async close() {
      for (const builder of [...running]) await builder.stop().catch(() => {});
      for (const recorder of recorders) await recorder.close();
      await nc.drain().catch(() => {});
      await database.close();
      await nats.dispose();
      await throwaway.drop().catch(() => {});
    },
  };
  return world;
}
