/**
 * Load: BENCH_APPS (500) apps deployed at once through the REST API of the whole platform on the local cluster,
 * with throughput and p50/p99 time-to-deployed (POST sent → the watcher's `succeeded` status event), next to the
 * baseline measured in the same run: a plain serial `helm upgrade --install --wait` of the same chart with the
 * same values, BENCH_BASELINE_APPS (default: as many) times.
 *
 * Run: `pnpm bench:load` (starts or joins the local cluster; private NATS and a throw-away database; 127.0.0.1
 * only). The apps deploy an existing image (task_type deploy), so both sides do the same work: helm, the
 * Deployment's rollout, and (for the platform) the API, the commands and the status tracking around it.
 * The local cluster gets two more simulated nodes for the run (one node holds at most 250 pods).
 */
import { execFile } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { jetstream } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import { buildChartValues } from '../services/deployer/src/chart/chart-values.ts';
import { startCluster } from '../test/cluster/src/cluster.ts';
import { startPlatform } from '../test/support/platform.ts';

const APPS = Number(process.env.BENCH_APPS ?? 500);
const BASELINE_APPS = Number(process.env.BENCH_BASELINE_APPS ?? APPS);
const CLIENTS = Number(process.env.BENCH_CLIENTS ?? 50);
const run = promisify(execFile);
const pct = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;
const seconds = (ms: number) => (ms / 1000).toFixed(2);

const cluster = await startCluster({ log: (line) => process.stderr.write(`[cluster] ${line}\n`) });
Object.assign(process.env, {
  APPSERVING_TEST_KUBECONFIG: cluster.kubeconfigPath,
  APPSERVING_TEST_REGISTRY: cluster.registryHost,
  APPSERVING_TEST_PROMETHEUS: cluster.prometheusUrl,
  APPSERVING_TEST_HELM: cluster.helmBinary,
  APPSERVING_TEST_KUBECTL: cluster.kubectlBinary,
});
const kc = new KubeConfig();
kc.loadFromFile(cluster.kubeconfigPath);
const core = kc.makeApiClient(CoreV1Api);
const runId = randomBytes(3).toString('hex');
const nodes = [`bench-${runId}-a`, `bench-${runId}-b`, `bench-${runId}-c`];
// Tiny requests: 500 pods must fit the simulated nodes.
const resources = { cpu: '10m', memory: '32Mi' };

async function addNodes(): Promise<void> {
  for (const name of nodes) {
    await core.createNode({
      body: {
        metadata: { name, annotations: { 'kwok.x-k8s.io/node': 'fake', 'node.alpha.kubernetes.io/ttl': '0' }, labels: { 'kubernetes.io/hostname': name, 'kubernetes.io/os': 'linux', type: 'kwok' } },
        status: {
          addresses: [{ type: 'InternalIP', address: '127.0.0.1' }],
          allocatable: { cpu: '64', memory: '256Gi', pods: '300' },
          capacity: { cpu: '64', memory: '256Gi', pods: '300' },
        },
      },
    });
  }
}

const platform = await startPlatform({ logLevel: 'warn', env: { APPSERVING_WATCHER_PROGRESSING_DEADLINE_MS: '1800000' } });
const image = platform.baseImages.jar;
try {
  await addNodes();
  const project = await platform.createProject('load');

  // ---- the platform: every app at once through the API ----
  const nc = await connect({ servers: platform.natsUrl });
  const succeededAt = new Map<string, number>();
  const failed: string[] = [];
  const js = jetstream(nc);
  const consumer = await js.consumers.get('APPSERVING_EVENTS', { filter_subjects: 'appserving.evt.release.status.*' });
  const statuses = await consumer.consume();
  void (async () => {
    for await (const m of statuses) {
      const event = m.json<{ data: { release: { app_id: string }; status: string } }>();
      if (event.data.status === 'succeeded') succeededAt.set(event.data.release.app_id, Date.now());
      if (event.data.status === 'failed') failed.push(event.data.release.app_id);
    }
  })();

  const sentAt = new Map<string, number>();
  const started = Date.now();
  let next = 0;
  await Promise.all(
    Array.from({ length: CLIENTS }, async () => {
      for (let i = next++; i < APPS; i = next++) {
        const t = Date.now();
        const answer = await fetch(`${platform.url}/apps`, {
          method: 'POST',
          headers: { authorization: `Bearer ${platform.adminToken}`, 'content-type': 'application/json', 'idempotency-key': randomUUID() },
          body: JSON.stringify({ name: `load-${i}`, project: project.name, task_type: 'deploy', image_url: image, port: 8080, resource_spec: resources }),
        });
        const body = (await answer.json()) as { app?: { id: string } };
        if (answer.status !== 202 || !body.app) throw new Error(`POST /apps answered ${answer.status}: ${JSON.stringify(body)}`);
        sentAt.set(body.app.id, t);
      }
    }),
  );
  const accepted = Date.now();
  process.stderr.write(`bench: ${APPS} apps accepted in ${seconds(accepted - started)} s; waiting for their rollouts\n`);
  const deadline = Date.now() + 30 * 60_000;
  let reported = 0;
  while (succeededAt.size + failed.length < APPS && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    if (succeededAt.size - reported >= 50) {
      reported = succeededAt.size;
      process.stderr.write(`bench: ${reported}/${APPS} deployed after ${seconds(Date.now() - started)} s\n`);
    }
  }
  const platformMs = Math.max(...succeededAt.values()) - started;
  const timeToDeployed = [...succeededAt].map(([appId, at]) => at - (sentAt.get(appId) ?? started)).sort((a, b) => a - b);
  await statuses.close();
  await nc.close();

  // ---- the baseline: the same chart and values, one `helm upgrade --install --wait` after the other ----
  const baselineNamespace = `load-baseline-${runId}`;
  await core.createNamespace({ body: { metadata: { name: baselineNamespace } } });
  const chartDir = new URL('../services/deployer/chart', import.meta.url).pathname;
  const valuesDir = mkdtempSync(join(tmpdir(), 'appserving-load-'));
  const baseline: number[] = [];
  const baselineStarted = Date.now();
  for (let i = 0; i < BASELINE_APPS; i++) {
    const name = `base-${i}`;
    const values = buildChartValues({
      release: { app_id: randomUUID(), app_name: name, release_id: randomUUID(), version: 1, cluster_id: randomUUID() },
      spec: { port: 8080, resource_spec: resources, strategy: 'rolling', env: {}, config: {}, secret_names: [], volumes: [], replicas: 1 },
      image,
      skipAnalysis: false,
      appType: 'jar',
      versionLabel: 'v1',
      namespace: baselineNamespace,
      secrets: {},
      prometheusUrl: null,
      placement: null,
      clusterName: 'local',
      gateWebhookBase: 'http://127.0.0.1:1',
      settings: { trafficProvider: 'gatewayapi', appGateway: '', ingressClass: 'nginx', appDomain: '', otelAgent: 'analysed', otelAgentImage: 'unused', volumeStorageClass: '', appUrl: 'https://{host}/', analysisMetrics: 'otel-agent', loadTesterUrl: '', analysisLoadRps: 0, appGatewayAddress: '' },
    });
    const file = join(valuesDir, `${name}.json`);
    writeFileSync(file, JSON.stringify(values));
    const t = Date.now();
    await run(cluster.helmBinary, ['upgrade', '--install', name, chartDir, '--namespace', baselineNamespace, '--values', file, '--wait', '--timeout', '5m', '--kubeconfig', cluster.kubeconfigPath]);
    baseline.push(Date.now() - t);
    if ((i + 1) % 50 === 0) process.stderr.write(`bench: baseline ${i + 1}/${BASELINE_APPS} after ${seconds(Date.now() - baselineStarted)} s\n`);
  }
  const baselineMs = Date.now() - baselineStarted;
  baseline.sort((a, b) => a - b);

  console.log(`\nLoad benchmark, ${new Date().toISOString()}`);
  console.log(`machine: nproc ${availableParallelism()}, ${cpus()[0]?.model ?? 'unknown CPU'}, ${Math.round(totalmem() / 2 ** 30)} GiB, Node ${process.version}; ${CLIENTS} API clients`);
  console.log('\n| what | apps | total s | apps per s | p50 s | p99 s |\n|---|---|---|---|---|---|');
  console.log(
    `| platform: all at once through the API (POST → status succeeded) | ${succeededAt.size}/${APPS} | ${seconds(platformMs)} | ${((succeededAt.size * 1000) / platformMs).toFixed(2)} | ${seconds(pct(timeToDeployed, 50))} | ${seconds(pct(timeToDeployed, 99))} |`,
  );
  console.log(`| baseline: serial helm upgrade --install --wait | ${BASELINE_APPS} | ${seconds(baselineMs)} | ${((BASELINE_APPS * 1000) / baselineMs).toFixed(2)} | ${seconds(pct(baseline, 50))} | ${seconds(pct(baseline, 99))} |`);
  console.log(`\nfailed releases: ${failed.length}; API accepted all ${APPS} in ${seconds(accepted - started)} s`);
  console.log(`throughput vs baseline: ${((succeededAt.size / platformMs) / (BASELINE_APPS / baselineMs)).toFixed(1)}x`);
  await core.deleteNamespace({ name: baselineNamespace }).catch(() => undefined);
} finally {
  await platform.stop();
  for (const name of nodes) await core.deleteNode({ name }).catch(() => undefined);
  await cluster.stop();
}
