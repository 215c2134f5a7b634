// A real deployer for tests against the local cluster: its own nats-server, a throw-away Postgres database, the
// real helm and the local cluster registered as the target (with its Prometheus), and the deployer's ops server on
// a free 127.0.0.1 port that Flagger (also on this machine) calls back. Rows the gateway would write (cluster,
// project, app, release) are written directly.
import { randomBytes, randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  AbortCommandV1,
  createLogger,
  createSecretBox,
  createShutdown,
  DeleteCommandV1,
  DeployCommandV1,
  DEV_SECRET_KEY,
  kubeconfigAad,
  loadConfig,
  PromoteCommandV1,
  releaseSecretsAad,
  createRuntime,
  deadLetterSubject,
  streams,
  type CloudEvent,
  type DeadLetter,
  type ReleaseRefV1,
  type ReleaseSpecV1,
} from '@appserving/shared';
import { createThrowawayDatabase, freePort, startTestNatsServer, type TestNatsServer } from '@appserving/shared/testing';
import { AppsV1Api, CoreV1Api, KubeConfig, KubernetesObjectApi, type KubernetesObject } from '@kubernetes/client-node';
// Types `inject('appservingCluster')` in the tests that use this harness.
import type {} from '@appserving/test-cluster/global-setup';
import { deployerSettings } from '../config.ts';
import { createDeployer } from '../service.ts';
import { eventually } from '@appserving/test-cluster';

export { eventually };

export interface ClusterUnderTest {
  kubeconfigPath: string;
  prometheusUrl: string;
  helmBinary: string;
}

export interface DeployStepEvent {
  id: string;
  step: string;
  release: ReleaseRefV1;
  helm_revision?: number;
  reason?: string;
}

export interface TestApp {
  readonly id: string;
  readonly name: string;
  readonly namespace: string;
  /**
   * Writes release `version` and publishes its deploy command; returns its ref. `unchecked` publishes the command's
   * JSON as it is, past the publisher's schema check: what a producer outside the platform could send.
   */
  deploy(options: { spec: ReleaseSpecV1; image: string; secrets?: Record<string, string>; skipAnalysis?: boolean; commandId?: string; unchecked?: boolean }): Promise<ReleaseRefV1>;
  /** Publishes the same deploy command again (a redelivery from another producer, or a retried publish). */
  redeliver(ref: ReleaseRefV1): Promise<void>;
  promote(ref: ReleaseRefV1): Promise<void>;
  abort(ref: ReleaseRefV1): Promise<void>;
  delete(ref: ReleaseRefV1): Promise<void>;
}

export interface TestDeployer {
  readonly port: number;
  readonly kc: KubeConfig;
  readonly core: CoreV1Api;
  readonly apps: AppsV1Api;
  readonly objects: KubernetesObjectApi;
  /** Every deploy.step event published so far, oldest first. */
  readonly steps: DeployStepEvent[];
  /** The local cluster's id in the registry. */
  readonly clusterId: string;
  /** Registers another cluster (e.g. one that cannot be reached); returns its id. */
  registerCluster(options: { name: string; kubeconfig: string; prometheusUrl?: string }): Promise<string>;
  /** Removes a cluster from the registry (soft delete, as the gateway does). */
  removeCluster(id: string): Promise<void>;
  /** An app (and its project, a fresh namespace) on the local cluster, or on `clusterId`. */
  createApp(options: { name: string; strategy: ReleaseSpecV1['strategy']; namespacePrefix: string; clusterId?: string }): Promise<TestApp>;
  /** Waits for a deploy step of a release; fails naming the steps seen. */
  waitForStep(releaseId: string, step: string, timeoutMs?: number): Promise<DeployStepEvent>;
  /** The last message the deployer gave up on (its dead letter), if any. */
  lastDeadLetter(): Promise<DeadLetter | undefined>;
  /** Waits until the deployer has handled every command published so far (nothing pending or unacknowledged). */
  idle(timeoutMs?: number): Promise<void>;
  /** Reads a namespaced object, or undefined when it does not exist. */
  read<T extends KubernetesObject>(apiVersion: string, kind: string, namespace: string, name: string): Promise<T | undefined>;
  close(): Promise<void>;
}

export interface TestDeployerOptions {
  cluster: ClusterUnderTest;
  /** Deployer settings (environment variables) on top of the test defaults. */
  env?: Record<string, string>;
}

const databaseServer = process.env.APPSERVING_TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

export async function startTestDeployer(options: TestDeployerOptions): Promise<TestDeployer> {
  const nats: TestNatsServer = await startTestNatsServer();
  const database = await createThrowawayDatabase(databaseServer);
  const port = await freePort();
  const config = loadConfig(deployerSettings, {
    APPSERVING_NATS_URL: nats.url,
    APPSERVING_DATABASE_URL: database.url,
    APPSERVING_DEPLOYER_PORT: String(port),
    APPSERVING_HELM_BINARY: options.cluster.helmBinary,
    APPSERVING_LOG_LEVEL: process.env.APPSERVING_TEST_LOG_LEVEL ?? 'warn',
    APPSERVING_ACK_WAIT_MS: '10000',
    APPSERVING_MAX_DELIVERIES: '5',
    APPSERVING_RETRY_BASE_DELAY_MS: '250',
    APPSERVING_RETRY_MAX_DELAY_MS: '2000',
    APPSERVING_SHUTDOWN_GRACE_MS: '5000',
    ...options.env,
  });
  const log = createLogger({ service: 'deployer-test', level: config.logLevel });
  const runtime = await createRuntime({ service: 'deployer', config, log });
  const unit = createDeployer(runtime, config);
  await unit.start();
  const shutdown = createShutdown({ units: [unit], runtimes: [runtime], log, graceMs: config.shutdownGraceMs });

  const db = runtime.database.db;
  const box = createSecretBox([DEV_SECRET_KEY]);
  const kubeconfig = readFileSync(options.cluster.kubeconfigPath, 'utf8');
  const clusterId = randomUUID();
  await db
    .insertInto('clusters')
    .values({
      id: clusterId,
      name: 'local',
      api_server_url: 'https://127.0.0.1:26400',
      kubeconfig_encrypted: box.encrypt(kubeconfig, kubeconfigAad(clusterId)),
      is_default: true,
      prometheus_url: options.cluster.prometheusUrl,
    })
    .execute();

  const steps: DeployStepEvent[] = [];
  const subscription = runtime.messaging.nc.subscribe('appserving.evt.deploy.step.>', {
    callback: (error, msg) => {
      if (error) return;
      const event = msg.json<CloudEvent<Omit<DeployStepEvent, 'id'>>>();
      steps.push({ id: event.id, ...event.data });
    },
  });

  const kc = new KubeConfig();
  kc.loadFromString(kubeconfig);
  const objects = KubernetesObjectApi.makeApiClient(kc);
  const publisher = runtime.messaging.publisher;
  const namespaces: string[] = [];

  async function registerCluster(o: { name: string; kubeconfig: string; prometheusUrl?: string }): Promise<string> {
    const id = randomUUID();
    await db
      .insertInto('clusters')
      .values({ id, name: o.name, api_server_url: 'https://127.0.0.1:1', kubeconfig_encrypted: box.encrypt(o.kubeconfig, kubeconfigAad(id)), prometheus_url: o.prometheusUrl ?? null })
      .execute();
    return id;
  }

  async function createApp(o: { name: string; strategy: ReleaseSpecV1['strategy']; namespacePrefix: string; clusterId?: string }): Promise<TestApp> {
    const namespace = `${o.namespacePrefix}-${randomBytes(3).toString('hex')}`;
    const appCluster = o.clusterId ?? clusterId;
    if (appCluster === clusterId) namespaces.push(namespace);
    const project = await db.insertInto('projects').values({ name: namespace, cluster_id: appCluster, namespace }).returning('id').executeTakeFirstOrThrow();
    const app = await db
      .insertInto('apps')
      .values({ name: o.name, cluster_id: appCluster, project_id: project.id, app_type: 'jar', strategy: o.strategy })
      .returning('id')
      .executeTakeFirstOrThrow();
    const commands = new Map<string, { id: string; data: unknown }>();
    const refOf = (releaseId: string, version: number): ReleaseRefV1 => ({ app_id: app.id, app_name: o.name, release_id: releaseId, version, cluster_id: appCluster });
    let version = 0;
    return {
      id: app.id,
      name: o.name,
      namespace,
      async deploy({ spec, image, secrets, skipAnalysis, commandId, unchecked }) {
        version += 1;
        const releaseId = randomUUID();
        await db
          .insertInto('releases')
          .values({
            id: releaseId,
            app_id: app.id,
            version,
            version_label: `v${version}`,
            task_type: 'deploy',
            spec: JSON.stringify(spec),
            strategy: spec.strategy,
            secrets_encrypted: secrets ? box.encrypt(JSON.stringify(secrets), releaseSecretsAad(releaseId)) : null,
            image_ref: image,
          })
          .execute();
        const ref = refOf(releaseId, version);
        const data = { release: ref, spec, image, skip_analysis: skipAnalysis ?? false };
        const id = commandId ?? randomUUID();
        commands.set(releaseId, { id, data });
        if (unchecked) {
          const event = { specversion: '1.0', id, source: '/deployer-test', type: DeployCommandV1.type, subject: app.id, data };
          await runtime.messaging.js.publish(DeployCommandV1.subject(app.id), JSON.stringify(event), { msgID: id });
        } else {
          await publisher.publish(DeployCommandV1, { id, appId: app.id, data });
        }
        return ref;
      },
      async redeliver(ref) {
        const command = commands.get(ref.release_id);
        if (!command) throw new Error(`no deploy command of release ${ref.release_id}`);
        // A new command id: the stream's duplicate window would drop the same id.
        await publisher.publish(DeployCommandV1, { id: randomUUID(), appId: app.id, data: command.data as never });
      },
      promote: async (ref) => void (await publisher.publish(PromoteCommandV1, { id: randomUUID(), appId: app.id, data: { release: ref } })),
      abort: async (ref) => void (await publisher.publish(AbortCommandV1, { id: randomUUID(), appId: app.id, data: { release: ref } })),
      async delete(ref) {
        await db.updateTable('apps').set({ status: 'deleting' }).where('id', '=', app.id).execute();
        await publisher.publish(DeleteCommandV1, { id: randomUUID(), appId: app.id, data: { release: ref } });
      },
    };
  }

  return {
    port,
    kc,
    core: kc.makeApiClient(CoreV1Api),
    apps: kc.makeApiClient(AppsV1Api),
    objects,
    steps,
    clusterId,
    registerCluster,
    async removeCluster(id) {
      await db.updateTable('clusters').set({ deleted_at: new Date() }).where('id', '=', id).execute();
    },
    createApp,
    async waitForStep(releaseId, step, timeoutMs = 60_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const found = steps.find((s) => s.release.release_id === releaseId && s.step === step);
        if (found) return found;
        if (Date.now() > deadline) {
          const seen = steps.filter((s) => s.release.release_id === releaseId).map((s) => `${s.step}${s.reason ? ` (${s.reason})` : ''}`);
          throw new Error(`no ${step} step of release ${releaseId} within ${timeoutMs} ms; seen: ${seen.join('; ') || 'none'}`);
        }
        await sleep(100);
      }
    },
    async lastDeadLetter() {
      try {
        const m = await runtime.messaging.jsm.streams.getMessage(streams.deadLetters.name, { last_by_subj: deadLetterSubject('deployer') });
        return m ? m.json<DeadLetter>() : undefined;
      } catch {
        return undefined;
      }
    },
    async idle(timeoutMs = 60_000) {
      await eventually(
        'the deployer to handle every command',
        () => runtime.messaging.jsm.consumers.info('APPSERVING_COMMANDS', 'deployer'),
        (info) => info.num_pending === 0 && info.num_ack_pending === 0,
        timeoutMs,
      );
    },
    async read(apiVersion, kind, namespace, name) {
      try {
        return await objects.read({ apiVersion, kind, metadata: { name, namespace } });
      } catch (error) {
        if ((error as { code?: number }).code === 404) return undefined;
        throw error;
      }
    },
    async close() {
      subscription.unsubscribe();
      await shutdown('test done');
      await nats.dispose();
      await database.drop();
      const core = kc.makeApiClient(CoreV1Api);
      for (const name of namespaces) await core.deleteNamespace({ name }).catch(() => {});
    },
  };
}

