/**
 * The deployer's cost over helm: rolling releases of one app deployed through the real deployer (deploy.v1 on
 * NATS → `applied` event), next to the floor measured in the same run: the same chart and the same values applied
 * with a bare `helm upgrade --install` into another namespace. Also the redelivered command (the release already
 * applied: `helm history` + `helm get values`, no upgrade) next to a bare `helm history`.
 *
 * Run: `pnpm bench:deploy`. Joins the local cluster (`pnpm cluster:up`, or starts it), a private nats-server and a
 * throw-away Postgres database; 127.0.0.1 only. Settings: BENCH_ROUNDS (10).
 */
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { ReleaseSpecV1 } from '../packages/shared/src/index.ts';
import { buildChartValues } from '../services/deployer/src/chart/chart-values.ts';
import { appChartDir } from '../services/deployer/src/service.ts';
import { startTestDeployer } from '../services/deployer/src/testing/test-deployer.ts';
import { startCluster } from '../test/cluster/src/index.ts';

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 10);
const cpuModel = /model name\s*:\s*(.*)/.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1] ?? 'unknown';
const run = promisify(execFile);

const cluster = await startCluster({ log: (line) => process.stderr.write(`[cluster] ${line}\n`) });
const deployer = await startTestDeployer({ cluster, env: { APPSERVING_LOG_LEVEL: 'warn' } });
const dir = await mkdtemp(join(tmpdir(), 'appserving-bench-'));
const spec: ReleaseSpecV1 = {
  app_type: 'jar',
  port: 8080,
  resource_spec: 'small',
  strategy: 'rolling',
  env: { GREETING: 'hello' },
  config: { 'application.yml': 'greeting: hello\n' },
  secret_names: ['db-password'],
  volumes: [],
  replicas: 1,
  health_path: '/health',
};
const secrets = { 'db-password': 'bench-password' };
const image = (i: number) => `${cluster.registryHost}/bench/app:v${i}`;

const quantile = (values: number[], q: number) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? NaN;
};
const row = (what: string, values: number[]) => `| ${what} | ${values.length} | ${quantile(values, 0.5).toFixed(0)} | ${quantile(values, 0.95).toFixed(0)} |`;

try {
  const app = await deployer.createApp({ name: 'bench', strategy: 'rolling', namespacePrefix: 'bench-deploy' });
  const floorNamespace = `${app.namespace}-floor`;
  const helm = (...args: string[]) => run(cluster.helmBinary, [...args, '--kubeconfig', cluster.kubeconfigPath]);

  const viaDeployer: number[] = [];
  const redelivered: number[] = [];
  const floor: number[] = [];
  const floorHistory: number[] = [];
  for (let i = 1; i <= ROUNDS; i++) {
    let started = performance.now();
    const ref = await app.deploy({ spec, image: image(i), secrets });
    await deployer.waitForStep(ref.release_id, 'applied', 120_000);
    viaDeployer.push(performance.now() - started);

    started = performance.now();
    await app.redeliver(ref);
    await deployer.idle();
    redelivered.push(performance.now() - started);

    const values = buildChartValues({
      release: { ...ref, app_name: 'bench' },
      spec,
      image: image(i),
      skipAnalysis: false,
      appType: 'jar',
      versionLabel: `v${i}`,
      namespace: floorNamespace,
      secrets,
      prometheusUrl: null,
      placement: null,
      clusterName: 'local',
      gateWebhookBase: '',
      settings: { trafficProvider: 'gatewayapi', appGateway: '', ingressClass: 'nginx', appDomain: '', otelAgent: 'analysed', otelAgentImage: 'x/y:1', volumeStorageClass: '', appUrl: 'https://{host}/', analysisMetrics: 'otel-agent', loadTesterUrl: '', analysisLoadRps: 0, appGatewayAddress: '' },
    });
    const file = join(dir, `values-${i}.json`);
    await writeFile(file, JSON.stringify(values), { mode: 0o600 });
    started = performance.now();
    await helm('upgrade', 'bench', appChartDir, '--install', '--create-namespace', '--namespace', floorNamespace, '--values', file, '--history-max', '10', '-o', 'json');
    floor.push(performance.now() - started);
    started = performance.now();
    await helm('history', 'bench', '--namespace', floorNamespace, '-o', 'json');
    floorHistory.push(performance.now() - started);
  }
  await deployer.core.deleteNamespace({ name: floorNamespace }).catch(() => {});

  console.log(`\n${ROUNDS} rolling releases of one app, ${new Date().toISOString().slice(0, 10)}, nproc ${(await run('nproc')).stdout.trim()}, ${cpuModel}, Node ${process.version}\n`);
  console.log('| what | n | p50 ms | p95 ms |');
  console.log('|---|---|---|---|');
  console.log(row('deploy.v1 → applied, through the deployer', viaDeployer));
  console.log(row('floor: bare `helm upgrade --install`, same chart and values', floor));
  console.log(row('redelivered deploy.v1 (already applied) → acknowledged', redelivered));
  console.log(row('floor: bare `helm history`', floorHistory));
  console.log(`\ndeployer p50 / floor p50: ${(quantile(viaDeployer, 0.5) / quantile(floor, 0.5)).toFixed(2)}x`);
} finally {
  await deployer.close();
  await rm(dir, { recursive: true, force: true });
  await cluster.stop();
}
