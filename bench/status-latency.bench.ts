/**
 * Status latency: from a change on Kubernetes to the release.status event on NATS, p50/p99, with 1 rollout in
 * flight and with many (BENCH_ROLLOUTS, default 200) at once; targets p99 under 100 ms and under 1 s.
 *
 * The change is a pod becoming Ready: each rollout's one pod runs `unready` (kwok), and the benchmark reports it
 * Ready through the pod's status subresource, as a kubelet does (t0 = just before that write). From there the
 * real controller manager updates the ReplicaSet and the Deployment, the watcher (its own process, as in
 * production) sees the rollout complete, writes the release succeeded and publishes the event. Measured in the same
 * run, as baselines: a bare watch of the pod (the raw watch event of the change itself) and a bare watch of the
 * Deployment reaching complete (Kubernetes' own propagation, which the watcher cannot beat).
 *
 * Needs the local cluster (`pnpm cluster:up`, reused when running), NATS and Postgres on 127.0.0.1. Pods run on a
 * private kwok node of this run. Settings: BENCH_SINGLE (30 single rollouts), BENCH_ROLLOUTS (200).
 */
import { readFileSync } from 'node:fs';
import { DeployStepV1, LABELS, type ReleaseRefV1 } from '../packages/shared/src/index.ts';
import { AppsV1Api, CoreV1Api, KubeConfig, ListWatch, Watch, type V1Deployment, type V1Pod } from '@kubernetes/client-node';
import { startCluster } from '../test/cluster/src/index.ts';
import { chartDeployment, createDeployRelease, startWatcherClusterEnv } from '../services/watcher/src/testing/cluster-fixture.ts';
import { startSimNode } from '../services/watcher/src/testing/sim-node.ts';
import { startWatcherProcess } from '../services/watcher/src/testing/watcher-process.ts';

const SINGLE = Number(process.env.BENCH_SINGLE ?? 30);
const ROLLOUTS = Number(process.env.BENCH_ROLLOUTS ?? 200);
const log = (line: string) => process.stderr.write(`${line}\n`);
const pct = (values: number[], p: number) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;
};
const cpuModel = /model name\s*:\s*(.*)/.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1] ?? 'unknown';

const cluster = await startCluster({ log: (line) => log(`[cluster] ${line}`) });
const node = await startSimNode(cluster, { pods: ROLLOUTS + SINGLE + 20, cpu: String(Math.ceil((ROLLOUTS + SINGLE) / 5)), memory: `${Math.ceil((ROLLOUTS + SINGLE) / 2)}Gi` });
const env = await startWatcherClusterEnv(cluster, { prefix: 'bench-latency', startWatcher: false });
const watcher = await startWatcherProcess({
  natsUrl: env.gw.nats.url,
  databaseUrl: env.gw.databaseUrl,
  // Readiness keeps a long grace: the pods are meant to wait, unready, for the benchmark.
  env: { APPSERVING_WATCHER_READINESS_GRACE_MS: '3600000', APPSERVING_LOG_LEVEL: 'warn', APPSERVING_WATCHER_RESYNC_MS: '10000', APPSERVING_CONSUMER_CONCURRENCY: '32' },
});
let cleaning: Promise<void> | undefined;
const cleanup = () =>
  (cleaning ??= (async () => {
    await watcher.kill('SIGTERM');
    await env.close();
    await node.stop();
    await cluster.stop();
  })());
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => void cleanup().finally(() => process.exit(130)));
await watcher.ready();

const kc = new KubeConfig();
kc.loadFromFile(cluster.kubeconfigPath);
const ns = env.namespace;
const core = kc.makeApiClient(CoreV1Api);
const apps = kc.makeApiClient(AppsV1Api);

// Arrival times of what the baselines and the watcher produce, by release id.
const podReady = new Map<string, number>();
const deploymentDone = new Map<string, number>();
const statusSucceeded = new Map<string, number>();
// Bare informers (list, then watch; they reconnect and resume like the watcher's) as the baselines.
const informers = [
  new ListWatch<V1Pod>(`/api/v1/namespaces/${ns}/pods`, new Watch(kc), () => core.listNamespacedPod({ namespace: ns }), false),
  new ListWatch<V1Deployment>(`/apis/apps/v1/namespaces/${ns}/deployments`, new Watch(kc), () => apps.listNamespacedDeployment({ namespace: ns }), false),
] as const;
informers[0].on('update', (pod: V1Pod) => {
  const id = pod.metadata?.labels?.[LABELS.releaseId];
  if (id && !podReady.has(id) && pod.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True')) podReady.set(id, performance.now());
});
informers[1].on('update', (d: V1Deployment) => {
  const id = d.spec?.template.metadata?.labels?.[LABELS.releaseId];
  const st = d.status;
  if (id && !deploymentDone.has(id) && (st?.observedGeneration ?? 0) >= (d.metadata?.generation ?? 0) && st?.availableReplicas === 1 && st.updatedReplicas === 1 && st.replicas === 1) {
    deploymentDone.set(id, performance.now());
  }
});
for (const informer of informers) {
  informer.on('error', () => setTimeout(() => void informer.start(), 500));
  await informer.start();
}
const subscription = env.gw.nc.subscribe('appserving.evt.release.status.>', {
  callback: (_error, msg) => {
    const event = msg.json<{ data: { status: string; release: { release_id: string } } }>();
    if (event.data.status === 'succeeded') statusSucceeded.set(event.data.release.release_id, performance.now());
  },
});

async function prepare(count: number, prefix: string): Promise<ReleaseRefV1[]> {
  const refs: ReleaseRefV1[] = [];
  for (let i = 0; i < count; i++) refs.push(await createDeployRelease(env, { name: `${prefix}-${i}`, replicas: 1 }));
  await Promise.all(
    refs.map(async (ref) => {
      await env.kube.apply(chartDeployment(ns, ref, { replicas: 1, behaviour: 'unready', placement: node.placement }));
      await env.h.publish(DeployStepV1, `${ref.release_id}.deploy.applied`, ref.app_id, { release: ref, step: 'applied', helm_revision: 1 });
    }),
  );
  // Every pod running (unready) and every release progressing: the watcher follows them all.
  await until(`${count} releases progressing`, async () => {
    const rows = await env.gw.database.db.selectFrom('releases').select('status').where('id', 'in', refs.map((r) => r.release_id)).execute();
    return rows.filter((r) => r.status === 'progressing').length === count;
  });
  await until(`${count} pods running`, async () => (await env.kube.core.listNamespacedPod({ namespace: ns, labelSelector: `app.kubernetes.io/name` })).items.filter((p) => refs.some((r) => r.release_id === p.metadata?.labels?.[LABELS.releaseId]) && p.status?.phase === 'Running').length === count);
  return refs;
}

/** Reports the release's pod Ready, as its kubelet would; returns t0. */
async function makeReady(ref: ReleaseRefV1): Promise<number> {
  const pod = (await env.kube.core.listNamespacedPod({ namespace: ns, labelSelector: `${LABELS.releaseId}=${ref.release_id}` })).items[0];
  if (!pod?.status) throw new Error(`no pod for ${ref.app_name}`);
  const now = new Date();
  pod.status.conditions = (pod.status.conditions ?? []).map((c) => (c.type === 'Ready' || c.type === 'ContainersReady' ? { ...c, status: 'True', reason: undefined, lastTransitionTime: now } : c));
  pod.status.containerStatuses = (pod.status.containerStatuses ?? []).map((c) => ({ ...c, ready: true }));
  const t0 = performance.now();
  await env.kube.core.replaceNamespacedPodStatus({ name: pod.metadata!.name!, namespace: ns, body: pod });
  return t0;
}

async function until(what: string, check: () => Promise<boolean>, timeoutMs = 300_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check().catch(() => false))) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

interface Sample {
  pod: number;
  deployment: number;
  status: number;
}

async function measure(refs: ReleaseRefV1[], concurrency: number): Promise<Sample[]> {
  const t0s = new Map<string, number>();
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      for (let i = next++; i < refs.length; i = next++) t0s.set(refs[i]!.release_id, await makeReady(refs[i]!));
    }),
  );
  await until('every status event', async () => refs.every((r) => statusSucceeded.has(r.release_id)), 120_000);
  return refs.map((r) => {
    const t0 = t0s.get(r.release_id)!;
    return { pod: podReady.get(r.release_id)! - t0, deployment: deploymentDone.get(r.release_id)! - t0, status: statusSucceeded.get(r.release_id)! - t0 };
  });
}

function report(label: string, samples: Sample[]): string[] {
  const row = (name: string, values: number[]) => {
    const known = values.filter((v) => Number.isFinite(v));
    return `| ${label} | ${name} | ${known.length} | ${pct(known, 50).toFixed(1)} | ${pct(known, 99).toFixed(1)} | ${Math.max(...known).toFixed(1)} |`;
  };
  return [
    row('baseline: a bare watch sees the pod\'s change (raw watch latency)', samples.map((s) => s.pod)),
    row('Kubernetes: the Deployment is complete (controller manager, seen by a bare watch)', samples.map((s) => s.deployment)),
    row('**watcher: from the Deployment change to release.status on NATS**', samples.map((s) => s.status - s.deployment)),
    row('end to end: from the pod\'s change to release.status on NATS', samples.map((s) => s.status)),
  ];
}

try {
  log(`preparing ${SINGLE} single rollouts`);
  const singles = await prepare(SINGLE, 'one');
  const singleSamples: Sample[] = [];
  for (const ref of singles) {
    singleSamples.push(...(await measure([ref], 1)));
    await new Promise((r) => setTimeout(r, 200));
  }
  log(`preparing ${ROLLOUTS} rollouts in flight`);
  const many = await prepare(ROLLOUTS, 'many');
  const manySamples = await measure(many, 16);

  console.log(`\nStatus latency in ms; t0 = the pod reported Ready through its status, as a kubelet does — ${new Date().toISOString().slice(0, 10)}, nproc ${readFileSync('/proc/cpuinfo', 'utf8').match(/^processor/gm)?.length}, ${cpuModel}, Node ${process.version}\n`);
  console.log('| rollouts in flight | measured | n | p50 | p99 | max |');
  console.log('|---|---|---|---|---|---|');
  for (const line of [...report('1', singleSamples), ...report(String(ROLLOUTS), manySamples)]) console.log(line);
  console.log(`\nTargets (the watcher row: the Kubernetes change that decides the status → the event): p99 < 100 ms with 1 rollout in flight, < 1000 ms with ${ROLLOUTS}.`);
} finally {
  subscription.unsubscribe();
  for (const informer of informers) await informer.stop();
  await cleanup();
}
process.exit(0);
