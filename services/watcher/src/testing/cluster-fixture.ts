import { randomBytes } from 'node:crypto';
import { DeployStepV1, LABELS, MANAGED_BY, type ReleaseRefV1, type Strategy } from '@appserving/shared';
import { AppsV1Api, CoreV1Api, KubeConfig, KubernetesObjectApi, PatchStrategy, type KubernetesObject, type V1Deployment, type V1Toleration } from '@kubernetes/client-node';
import type { ClusterInfo } from '@appserving/test-cluster';
import { startTestGateway, type TestGateway } from '../../../gateway/src/testing/test-gateway.ts';
import { createHarness, waitFor, type Harness } from './harness.ts';
import { registerTestCluster, startTestWatcher, type TestWatcher } from './test-watcher.ts';

/**
 * Everything a watcher test on the local cluster needs: a real gateway (own NATS, throw-away database) whose
 * `local` cluster is the test cluster, a project with its own namespace, a watcher in this process, Kubernetes
 * clients, and a harness for HTTP calls and events. The tests play builder and deployer: they publish their
 * events and create on the cluster what the app chart would.
 */
export interface WatcherClusterEnv {
  gw: TestGateway;
  watcher: TestWatcher;
  h: Harness;
  cluster: ClusterInfo;
  namespace: string;
  project: string;
  kube: { core: CoreV1Api; apps: AppsV1Api; objects: KubernetesObjectApi; apply<T extends KubernetesObject>(obj: T): Promise<T> };
  /** Open SSE streams, closed by `close()` (the gateway waits for its connections before it stops). */
  streams: Set<EventStream>;
  close(): Promise<void>;
}

export async function startWatcherClusterEnv(
  cluster: ClusterInfo,
  options: { prefix: string; env?: Record<string, string>; startWatcher?: boolean; /** Kubeconfig the watcher gets (default the cluster's). */ kubeconfigPath?: string },
): Promise<WatcherClusterEnv> {
  const kc = new KubeConfig();
  kc.loadFromFile(cluster.kubeconfigPath);
  const objects = KubernetesObjectApi.makeApiClient(kc);
  const kube = {
    core: kc.makeApiClient(CoreV1Api),
    apps: kc.makeApiClient(AppsV1Api),
    objects,
    apply: <T extends KubernetesObject>(obj: T) => objects.patch(obj, undefined, undefined, 'appserving-watcher-tests', true, PatchStrategy.ServerSideApply),
  };
  const namespace = `${options.prefix}-${randomBytes(3).toString('hex')}`;
  await kube.core.createNamespace({ body: { metadata: { name: namespace } } });
  const gw = await startTestGateway();
  await registerTestCluster(gw.database.db, gw.clusterId, { kubeconfigPath: options.kubeconfigPath ?? cluster.kubeconfigPath, prometheusUrl: cluster.prometheusUrl });
  const h = createHarness({ base: gw.base, token: gw.adminToken, nc: gw.nc });
  const project = await h.call('POST', '/projects', { name: namespace, cluster_id: gw.clusterId, namespace });
  if (project.status !== 201) throw new Error(`could not create the project: ${JSON.stringify(project.body)}`);
  const streams = new Set<EventStream>();
  const watcher = options.startWatcher === false ? (undefined as unknown as TestWatcher) : await startTestWatcher({ natsUrl: gw.nats.url, databaseUrl: gw.databaseUrl, env: options.env ?? {} });
  return {
    gw,
    watcher,
    h,
    cluster,
    namespace,
    project: namespace,
    kube,
    streams,
    async close() {
      for (const stream of streams) stream.close();
      h.close();
      try {
        await watcher?.stop();
        await gw.close();
      } finally {
        await kube.core.deleteNamespace({ name: namespace }).catch(() => {});
      }
    },
  };
}

/** Creates an app with a deploy-only first release (as `POST /apps` does) and returns its release reference. */
export async function createDeployRelease(env: WatcherClusterEnv, app: { name: string; strategy?: Strategy; resource_spec?: string; env?: Record<string, string>; health_path?: string; replicas?: number }): Promise<ReleaseRefV1> {
  const { status, body } = await env.h.call('POST', '/apps', {
    name: app.name,
    project: env.project,
    task_type: 'deploy',
    image_url: `${env.cluster.registryHost}/${app.name}:v1`,
    port: 8080,
    resource_spec: app.resource_spec ?? 'small',
    strategy: app.strategy ?? 'rolling',
    replicas: app.replicas ?? 2,
    ...(app.health_path ? { health_path: app.health_path } : {}),
    ...(app.env ? { env: app.env } : {}),
  });
  if (status !== 202) throw new Error(`POST /apps answered ${status}: ${JSON.stringify(body)}`);
  return { app_id: body.app.id, app_name: app.name, release_id: body.release.id, version: body.release.version, cluster_id: body.app.cluster.id };
}

/** A further deploy-only release of the app (PATCH), for rolling updates and canaries. */
export async function updateRelease(env: WatcherClusterEnv, ref: ReleaseRefV1, tag: string): Promise<ReleaseRefV1> {
  const { status, body } = await env.h.call('PATCH', `/apps/${ref.app_id}`, { task_type: 'deploy', image_url: `${env.cluster.registryHost}/${ref.app_name}:${tag}` });
  if (status !== 202) throw new Error(`PATCH /apps answered ${status}: ${JSON.stringify(body)}`);
  return { ...ref, release_id: body.release.id, version: body.release.version };
}

export interface WorkloadOptions {
  replicas?: number;
  image?: string;
  /** sim.appserving.dev/behaviour label of the pods. */
  behaviour?: string;
  annotations?: Record<string, string>;
  cpu?: string;
  memoryLimit?: string;
  progressDeadlineSeconds?: number;
  placement?: { nodeSelector: Record<string, string>; tolerations: V1Toleration[] };
}

export function appLabels(ref: ReleaseRefV1): Record<string, string> {
  return {
    [LABELS.managedBy]: MANAGED_BY,
    [LABELS.name]: ref.app_name,
    [LABELS.instance]: ref.app_name,
    [LABELS.component]: 'app',
    [LABELS.appId]: ref.app_id,
  };
}

/** The app's Deployment as the chart renders it for a release (labels, selector, probe on the named port). */
export function chartDeployment(namespace: string, ref: ReleaseRefV1, o: WorkloadOptions = {}): V1Deployment {
  const releaseLabels = { [LABELS.releaseId]: ref.release_id, [LABELS.releaseVersion]: String(ref.version) };
  const podLabels = { ...appLabels(ref), ...releaseLabels, ...(o.behaviour ? { 'sim.appserving.dev/behaviour': o.behaviour } : {}) };
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: ref.app_name, namespace, labels: { ...appLabels(ref), ...releaseLabels } },
    spec: {
      replicas: o.replicas ?? 2,
      progressDeadlineSeconds: o.progressDeadlineSeconds ?? 600,
      selector: { matchLabels: { [LABELS.name]: ref.app_name, [LABELS.instance]: ref.app_name } },
      strategy: { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 0, maxSurge: '25%' } },
      template: {
        metadata: { labels: podLabels, annotations: o.annotations ?? {} },
        spec: {
          terminationGracePeriodSeconds: 0,
          ...(o.placement ?? {}),
          containers: [
            {
              name: 'app',
              image: o.image ?? `registry.invalid/${ref.app_name}:v${ref.version}`,
              ports: [{ name: 'http', containerPort: 8080 }],
              readinessProbe: { httpGet: { path: '/actuator/health', port: 'http' }, periodSeconds: 10 },
              resources: {
                requests: { cpu: o.cpu ?? '100m', memory: '256Mi' },
                limits: { memory: o.memoryLimit ?? '512Mi' },
              },
            },
          ],
        },
      },
    },
  };
}

/** One SSE message: its event name and its parsed data (a CloudEvent, or the snapshot). */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- the tests' expectations check the shape
export type SseMessage = { event: string; data: any };

/** Live Server-Sent Events of an app (GET /apps/{id}/events), parsed as they arrive. */
export interface EventStream {
  events: SseMessage[];
  until(what: string, match: (e: SseMessage) => boolean, timeoutMs?: number): Promise<SseMessage>;
  close(): void;
}

export async function openEventStream(env: { gw: { base: string; adminToken: string }; streams: Set<EventStream> }, appId: string): Promise<EventStream> {
  const controller = new AbortController();
  const response = await fetch(`${env.gw.base}/apps/${appId}/events`, { headers: { authorization: `Bearer ${env.gw.adminToken}` }, signal: controller.signal });
  if (response.status !== 200 || !response.body) throw new Error(`SSE answered ${response.status}`);
  const events: EventStream['events'] = [];
  const waiters = new Set<() => void>();
  void (async () => {
    const decoder = new TextDecoder();
    let buffer = '';
    try {
      for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
        buffer += decoder.decode(chunk, { stream: true });
        let end: number;
        while ((end = buffer.indexOf('\n\n')) >= 0) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          const event = /^event: (.*)$/m.exec(block)?.[1];
          const data = /^data: (.*)$/m.exec(block)?.[1];
          if (event && data) events.push({ event, data: JSON.parse(data) });
          for (const wake of waiters) wake();
        }
      }
    } catch {
      // closed
    }
  })();
  const stream: EventStream = {
    events,
    async until(what, match, timeoutMs = 60_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const found = events.find(match);
        if (found) return found;
        if (Date.now() > deadline) throw new Error(`SSE: timed out waiting for ${what}; saw ${JSON.stringify(events.map((e) => [e.event, e.data?.data?.status]))}`);
        await new Promise<void>((resolve) => {
          const wake = () => {
            waiters.delete(wake);
            resolve();
          };
          waiters.add(wake);
          setTimeout(wake, 250);
        });
      }
    },
    close: () => {
      controller.abort();
      env.streams.delete(stream);
    },
  };
  env.streams.add(stream);
  return stream;
}

/** The release's row as the watcher wrote it. */
export function releaseRow(env: WatcherClusterEnv, id: string) {
  return env.gw.database.db.selectFrom('releases').selectAll().where('id', '=', id).executeTakeFirstOrThrow();
}

/** Waits until the release's row shows `status`; gives that row. */
export function waitStatus(env: WatcherClusterEnv, ref: ReleaseRefV1, status: string, timeoutMs = 60_000) {
  return waitFor(
    `${ref.app_name} v${ref.version} ${status}`,
    async () => {
      const row = await releaseRow(env, ref.release_id);
      return row.status === status ? row : undefined;
    },
    timeoutMs,
    200,
  );
}

/** What the deployer publishes once helm applied the release. */
export function applied(env: WatcherClusterEnv, ref: ReleaseRefV1, revision: number) {
  return env.h.publish(DeployStepV1, `${ref.release_id}.deploy.applied`, ref.app_id, { release: ref, step: 'applied', helm_revision: revision });
}
