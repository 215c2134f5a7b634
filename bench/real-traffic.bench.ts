/**
 * Real traffic on the local cluster's real node, through the traffic gateway: a good canary's duration next to
 * Flagger's minimum for the same settings (interval × steps), and the failed requests a steady client (20/s)
 * meets through a rolling update, a canary and a blue/green release (promoted without a gate). Targets: duration
 * ≤ 1.2x the minimum; 0 failed requests.
 *
 * Run: `pnpm bench:real-traffic`. Joins the local cluster (`pnpm cluster:up`, or starts it); 127.0.0.1 only.
 * Settings: BENCH_INTERVAL_S (10), BENCH_STEP (20), BENCH_MAX_WEIGHT (60).
 */
import { getFromEndpoint, helloJar, startSteadyClient } from '../test/support/real-apps.ts';
import { cpuModel, log, startRealNodeBench } from './support/real-node-bench.ts';

const INTERVAL = Number(process.env.BENCH_INTERVAL_S ?? 10);
const STEP = Number(process.env.BENCH_STEP ?? 20);
const MAX = Number(process.env.BENCH_MAX_WEIGHT ?? 60);

const { cluster, platform } = await startRealNodeBench();

interface AppView {
  id: string;
  endpoints?: { public: string | null };
  current_release: { id: string; version: number; status: string; created_at: string; finished_at: string | null } | null;
}

async function upload(version: string): Promise<string> {
  const response = await fetch(`${platform.url}/artifacts?filename=hello-${version}.jar`, {
    method: 'POST',
    headers: { authorization: `Bearer ${platform.adminToken}`, 'content-type': 'application/java-archive' },
    body: await helloJar(version),
  });
  const body = (await response.json()) as { artifact_url: string };
  return body.artifact_url;
}

async function waitDone(appId: string, version: number): Promise<AppView> {
  const deadline = Date.now() + 600_000;
  for (;;) {
    const { body } = await platform.api<AppView>('GET', `/apps/${appId}`);
    const release = body.current_release;
    if (release?.version === version && ['succeeded', 'failed', 'aborted'].includes(release.status)) return body;
    if (Date.now() > deadline) throw new Error(`app ${appId} v${version} did not end: ${JSON.stringify(release)}`);
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
}

async function answering(url: string, version: string): Promise<void> {
  for (;;) {
    const answer = await getFromEndpoint(url).catch(() => ({ status: 0, body: '' }));
    if (answer.status === 200 && answer.body.startsWith(`hello ${version} `)) return;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

/** Deploys v1, then v2 under a steady client; the v2 release's duration (accepted to ended) and what the client met. */
async function scenario(name: string, project: string, strategy: 'rolling' | 'canary' | 'blue-green') {
  const analysis = { interval_seconds: INTERVAL, threshold: 3, step_weight: STEP, max_weight: MAX, iterations: MAX / STEP, metric_window_seconds: 20, load_rps: 10, manual_promotion: false };
  const created = await platform.api<{ app: AppView }>('POST', '/apps', {
    name, version: 'v1', project, task_type: 'all', artifact_url: await upload('v1'), strategy,
    ...(strategy === 'rolling' ? {} : { analysis }), resource_spec: { cpu: '250m', memory: '384Mi' }, health_path: '/health',
  });
  const appId = created.body.app.id;
  const v1 = await waitDone(appId, 1);
  const url = v1.endpoints?.public ?? '';
  await answering(url, 'v1');
  const client = startSteadyClient(url, 20);
  const patched = await platform.api('PATCH', `/apps/${appId}`, { version: 'v2', task_type: 'all', artifact_url: await upload('v2') });
  if (patched.status !== 202) throw new Error(`PATCH answered ${patched.status}`);
  const v2 = await waitDone(appId, 2);
  await answering(url, 'v2');
  await new Promise((resolve) => setTimeout(resolve, 8_000));
  const samples = await client.stop();
  const release = v2.current_release;
  const duration = (Date.parse(release?.finished_at ?? '') - Date.parse(release?.created_at ?? '')) / 1000;
  return { status: release?.status ?? '?', duration, requests: samples.length, failed: samples.filter((s) => s.status !== 200).length };
}

try {
  const project = await platform.createProject('bench');
  log(`canary, blue/green and rolling of the hello app (interval ${INTERVAL} s, step ${STEP} %, max ${MAX} %)`);
  const [canary, blueGreen, rolling] = await Promise.all([
    scenario('canary', project.name, 'canary'),
    scenario('bluegreen', project.name, 'blue-green'),
    scenario('rolling', project.name, 'rolling'),
  ]);
  const minimum = INTERVAL * (MAX / STEP);
  process.stdout.write(
    [
      '',
      `Real traffic through the gateway on the real node — ${new Date().toISOString()}, ${cpuModel}`,
      '',
      '| release v2 | status | accepted → ended s | Flagger minimum s (interval × steps) | ratio | steady client requests | failed |',
      '|---|---|---|---|---|---|---|',
      `| canary | ${canary.status} | ${canary.duration.toFixed(1)} | ${minimum} | ${(canary.duration / minimum).toFixed(2)}x | ${canary.requests} | ${canary.failed} |`,
      `| blue/green | ${blueGreen.status} | ${blueGreen.duration.toFixed(1)} | ${minimum} | ${(blueGreen.duration / minimum).toFixed(2)}x | ${blueGreen.requests} | ${blueGreen.failed} |`,
      `| rolling | ${rolling.status} | ${rolling.duration.toFixed(1)} | - | - | ${rolling.requests} | ${rolling.failed} |`,
      '',
      'accepted → ended includes the build (direct push) and helm; targets: canary ≤ 1.2x the minimum, 0 failed requests.',
      '',
    ].join('\n'),
  );
} finally {
  await platform.stop();
  await cluster.stop();
}
