// App metrics on the real node under real traffic: the hello server (compiled by the test) answers every fourth
// request with a 500 (HELLO_FAIL_EVERY=4); a test client sends a known number of requests through the traffic
// gateway on 127.0.0.1 and counts the answers; GET /apps/{id}/metrics (the watcher reading the cluster's Prometheus,
// which scrapes the gateway and the kubelet's cAdvisor) must show what was sent. The CLI's `appserve metrics` is run
// as a real process against the same gateway.
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import type { AppMetricsV1 } from '@appserving/shared';
import { freePort } from '@appserving/shared/testing';
import { seedBaseImages } from '@appserving/test-support/base-images';
import { startPlatform, testClusterFromEnv, type Platform } from '@appserving/test-support/platform';
import { answerFromEndpoint, getFromEndpoint, helloJar } from '@appserving/test-support/real-apps';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitForApp, type AppView } from './e2e-support.ts';

const run = promisify(execFile);
const cliMain = fileURLToPath(new URL('../../packages/cli/src/main.ts', import.meta.url));
let platform: Platform;
let project: { name: string; namespace: string };
const TEST_MS = 540_000;
const LIMITS = { cpu: '250m', memory: '384Mi' };
const MEMORY_LIMIT = 384 * 1024 * 1024;
/** Requests of one measurement and their pace: 100 s of traffic, so several 60 s rate windows lie wholly inside it. */
const REQUESTS = 1_000;
const RPS = 10;

beforeAll(async () => {
  // Pods of 250m: the rolling app's one pod, the canary app's primary and canary.
  platform = await startPlatform({ realNode: true, realNodeCpu: 1000, env: { APPSERVING_CLUSTER_HOST_ALLOWLIST: '127.0.0.1' } });
  project = await platform.createProject('metrics');
}, 300_000);

afterAll(async () => {
  await platform?.stop();
});

const explain = () => `platform log: ${platform.logFile}; last problems: ${JSON.stringify(platform.problems().slice(-5))}`;

async function upload(version: string): Promise<string> {
  const response = await fetch(`${platform.url}/artifacts?filename=hello-${version}.jar`, {
    method: 'POST',
    headers: { authorization: `Bearer ${platform.adminToken}`, 'content-type': 'application/java-archive' },
    body: await helloJar(version),
  });
  const uploaded = (await response.json()) as { artifact_url?: string };
  if (response.status !== 201 || !uploaded.artifact_url) throw new Error(`upload answered ${response.status}: ${JSON.stringify(uploaded)}`);
  return uploaded.artifact_url;
}

const versionDone = (version: number, statuses = ['succeeded', 'failed', 'aborted', 'waiting-promotion']) => (app: AppView) =>
  app.current_release?.version === version && statuses.includes(app.current_release.status);

/** What the test client sent and what came back, per version of the answer. */
interface Sent {
  from: number;
  to: number;
  total: number;
  failed: number;
  byVersion: Map<string, { total: number; failed: number }>;
}

/** `count` requests to `url`, one at a time at about `rps` a second (at most twice the planned time), each answer counted. */
async function send(url: string, count: number, rps: number): Promise<Sent> {
  const from = Date.now();
  const deadline = from + (count / rps) * 2_000 + 30_000;
  const sent: Sent = { from, to: from, total: 0, failed: 0, byVersion: new Map() };
  for (let i = 0; i < count && Date.now() < deadline; i += 1) {
    const at = Date.now();
    const answer = await getFromEndpoint(url).catch((error: unknown) => ({ status: 0, body: String(error) }));
    const version = /^hello (\S+) /.exec(answer.body)?.[1] ?? '?';
    const counts = sent.byVersion.get(version) ?? { total: 0, failed: 0 };
    sent.byVersion.set(version, counts);
    sent.total += 1;
    counts.total += 1;
    if (answer.status !== 200) {
      sent.failed += 1;
      counts.failed += 1;
    }
    const wait = from + ((i + 1) * 1000) / rps - Date.now();
    if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
    sent.to = Math.max(at, Date.now());
  }
  return sent;
}

async function metrics(appId: string, query: string): Promise<AppMetricsV1> {
  const { status, body } = await platform.api<AppMetricsV1>('GET', `/apps/${appId}/metrics?${query}`);
  expect(status, JSON.stringify(body)).toBe(200);
  return body;
}

/** The values of a series of `track` whose 60 s rate window lies wholly within [from, to] (ms), scrape delay allowed. */
function inside(view: AppMetricsV1, metric: string, track: string, sent: Pick<Sent, 'from' | 'to'>): number[] {
  const series = view.series.find((s) => s.metric === metric && s.track === track);
  return (series?.points ?? []).filter(([t]) => t * 1000 >= sent.from + 66_000 && t * 1000 <= sent.to).map(([, v]) => v);
}

function last(view: AppMetricsV1, metric: string, track: string): number | undefined {
  return view.series.find((s) => s.metric === metric && s.track === track)?.points.at(-1)?.[1];
}

/** Waits until Prometheus has scraped what was sent (the gateway every 5 s, the kubelet every 10 s). */
const settle = () => new Promise((resolve) => setTimeout(resolve, 15_000));

async function cli(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const env = { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', APPSERVE_TOKEN: platform.adminToken, NO_COLOR: '1' };
  try {
    const { stdout, stderr } = await run(process.execPath, [cliMain, '--server', platform.url, ...args], { env, timeout: 120_000 });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof failed.code === 'number' ? failed.code : -1, stdout: failed.stdout ?? '', stderr: failed.stderr ?? '' };
  }
}

describe.concurrent('app metrics on the real node under real traffic', () => {
  it('a rolling app: the request rate and error ratio are what the client sent, latency in range, CPU and memory against the app\'s limits; the CLI shows them', async () => {
    const created = await platform.api<{ app: AppView }>('POST', '/apps', {
      name: 'meter',
      version: 'v1',
      project: project.name,
      task_type: 'all',
      artifact_url: await upload('v1'),
      strategy: 'rolling',
      resource_spec: LIMITS,
      health_path: '/health',
      env: { HELLO_FAIL_EVERY: '4' },
    });
    expect(created.status, JSON.stringify(created.body)).toBe(202);
    const app = await waitForApp(platform, created.body.app.id, { done: versionDone(1), timeoutMs: 300_000 });
    expect(app.current_release?.status, explain()).toBe('succeeded');
    const url = app.endpoints?.public ?? '';
    await answerFromEndpoint(url);

    const sent = await send(url, REQUESTS, RPS);
    expect(sent.total).toBe(REQUESTS);
    // The app fails every fourth request to it, whatever the phase: a quarter of what was sent, to one request.
    expect(Math.abs(sent.failed - REQUESTS / 4), `failed ${sent.failed} of ${sent.total}`).toBeLessThanOrEqual(1);
    await settle();
    const view = await metrics(app.id, 'range=5m&step=5s');
    const context = JSON.stringify({ sent: { ...sent, byVersion: [...sent.byVersion] }, missing: view.missing, tracks: view.tracks });

    expect(view.tracks).toEqual([{ track: 'stable', release: { id: app.current_release?.id, version: 'v1' } }]);
    const sentRate = (sent.total * 1000) / (sent.to - sent.from);
    const rates = inside(view, 'requests_per_second', 'stable', sent);
    expect(rates.length, context).toBeGreaterThanOrEqual(3);
    // Tolerance: 15 % of the client's rate (Prometheus extrapolates each window's counter increase from 5 s scrapes).
    for (const rate of rates) expect(Math.abs(rate - sentRate) / sentRate, `${rate.toFixed(2)} req/s against ${sentRate.toFixed(2)} sent`).toBeLessThanOrEqual(0.15);
    // Tolerance: 0.03 of the ratio (a window holds about 600 requests, a quarter of them failed).
    const ratios = inside(view, 'error_ratio', 'stable', sent);
    expect(ratios.length, context).toBeGreaterThanOrEqual(3);
    for (const ratio of ratios) expect(Math.abs(ratio - sent.failed / sent.total), `error ratio ${ratio.toFixed(3)}`).toBeLessThanOrEqual(0.03);
    console.log(
      `metrics, rolling: sent ${sent.total} (${sent.failed} failed) at ${sentRate.toFixed(2)} req/s; read ${rates.map((r) => r.toFixed(2)).join(', ')} req/s, ` +
        `error ratio ${ratios.map((r) => r.toFixed(3)).join(', ')}; p50/p95/p99 ${['latency_p50_ms', 'latency_p95_ms', 'latency_p99_ms'].map((m) => inside(view, m, 'stable', sent).at(-1)?.toFixed(1)).join(' / ')} ms`,
    );
    // Percentiles interpolated in the gateway's duration buckets (1 ms to 10 s; a cluster started before they were set
    // has Traefik's 0.1/0.3/1.2/5 s, which put a quick local app in the first): ordered, and well under a second.
    const [p50, p95, p99] = (['latency_p50_ms', 'latency_p95_ms', 'latency_p99_ms'] as const).map((m) => inside(view, m, 'stable', sent));
    expect(p99?.length, context).toBeGreaterThanOrEqual(3);
    for (const [i, q99] of (p99 ?? []).entries()) {
      expect(p50?.[i]).toBeGreaterThan(0);
      expect(p50?.[i]).toBeLessThanOrEqual(p95?.[i] ?? 0);
      expect(p95?.[i]).toBeLessThanOrEqual(q99);
      expect(q99).toBeLessThan(1_200);
    }
    // The container's CPU and memory, read from the kubelet's cAdvisor, against the limits the app asked for.
    expect(Math.max(...(view.series.find((s) => s.metric === 'cpu_cores' && s.track === 'stable')?.points ?? [[0, 0]]).map(([, v]) => v)), context).toBeGreaterThan(0);
    expect(last(view, 'cpu_limit_cores', 'stable'), context).toBeCloseTo(0.25, 3);
    expect(last(view, 'memory_bytes', 'stable'), context).toBeGreaterThan(16 * 1024 * 1024);
    expect(last(view, 'memory_limit_bytes', 'stable'), context).toBe(MEMORY_LIMIT);
    expect(view.pods).toEqual([
      { name: expect.stringMatching(/^meter-[0-9a-z]+-[0-9a-z]+$/), track: 'stable', release: { id: app.current_release?.id, version: 'v1' }, phase: 'Running', ready: true, restarts: 0 },
    ]);
    expect(view.markers).toContainEqual({ release: { id: app.current_release?.id, version: 'v1' }, at: expect.any(String), kind: 'deployed' });
    // No kube-state-metrics and no JVM metrics on this cluster: said, with the source named, not left out silently.
    const missing = new Map(view.missing.map((m) => [m.metric, m.reason]));
    expect(missing.get('restarts')).toMatch(/^no kube-state-metrics series in the Prometheus of cluster local/);
    expect(missing.get('jvm_heap_used_bytes')).toMatch(/JVM/);
    expect([...missing.keys()].filter((m) => !['restarts', 'ready_pods', 'jvm_heap_used_bytes', 'jvm_heap_max_bytes', 'jvm_gc_seconds_per_second'].includes(m)), context).toEqual([]);

    const human = await cli('metrics', 'meter', '--range', '5m', '--step', '5s');
    expect(human.code, human.stderr).toBe(0);
    console.log(`appserve metrics meter --range 5m --step 5s:\n${human.stdout}`);
    expect(human.stdout).toMatch(/^meter {2}\d{4}-\d\d-\d\d \d\d:\d\d:\d\d → .* UTC, every 5s$/m);
    expect(human.stdout).toContain('stable v1  1/1 pods ready');
    expect(human.stdout).toMatch(/^ {2}requests +\d+\.\d+ req\/s +\d.* [▁▂▃▄▅▆▇█ ]+$/m);
    expect(human.stdout).toMatch(/^ {2}errors +2\d\.\d%/m);
    expect(human.stdout).toMatch(/^ {2}memory limit +384 MiB/m);
    expect(human.stdout).toMatch(/^ {2}restarts, ready pods: no kube-state-metrics series/m);
    const json = await cli('--json', 'metrics', 'meter', '--range', '5m');
    expect(json.code, json.stderr).toBe(0);
    const parsed = JSON.parse(json.stdout) as AppMetricsV1;
    expect(parsed).toMatchObject({ app_id: app.id, step_seconds: 5, tracks: view.tracks });
    await platform.removeApp(app.id);
  }, TEST_MS);

  it('a canary held at its gate: the primary\'s and the canary\'s series are separate, each with the traffic and errors it served', async () => {
    const created = await platform.api<{ app: AppView }>('POST', '/apps', {
      name: 'split',
      version: 'v1',
      project: project.name,
      task_type: 'all',
      artifact_url: await upload('v1'),
      strategy: 'canary',
      analysis: { interval_seconds: 10, threshold: 3, step_weight: 50, max_weight: 50, metric_window_seconds: 20, manual_promotion: true },
      resource_spec: LIMITS,
      health_path: '/health',
      // v1 (the primary) fails every fourth request; v2 (the canary) none, so that its analysis passes and it waits.
      env: { HELLO_FAIL_EVERY: '4' },
    });
    expect(created.status, JSON.stringify(created.body)).toBe(202);
    const v1 = await waitForApp(platform, created.body.app.id, { done: versionDone(1), timeoutMs: 300_000 });
    expect(v1.current_release?.status, explain()).toBe('succeeded');
    const url = v1.endpoints?.public ?? '';
    await answerFromEndpoint(url, '/', (body) => body.startsWith('hello v1 '));
    const updated = await platform.api('PATCH', `/apps/${v1.id}`, { version: 'v2', task_type: 'all', artifact_url: await upload('v2'), env: { HELLO_FAIL_EVERY: '0' } });
    expect(updated.status, JSON.stringify(updated.body)).toBe(202);
    const waiting = await waitForApp(platform, v1.id, { done: versionDone(2), timeoutMs: 420_000 });
    expect(waiting.current_release?.status, explain()).toBe('waiting-promotion');

    const sent = await send(url, REQUESTS, RPS);
    const fromV1 = sent.byVersion.get('v1') ?? { total: 0, failed: 0 };
    const fromV2 = sent.byVersion.get('v2') ?? { total: 0, failed: 0 };
    // Flagger holds the weight at 50 % while the gate is closed: both versions served the client.
    expect(fromV1.total, JSON.stringify([...sent.byVersion])).toBeGreaterThan(REQUESTS / 4);
    expect(fromV2.total, JSON.stringify([...sent.byVersion])).toBeGreaterThan(REQUESTS / 4);
    expect(fromV2.failed).toBe(0);
    await settle();
    const view = await metrics(v1.id, 'range=5m&step=5s');
    const context = JSON.stringify({ sent: { ...sent, byVersion: [...sent.byVersion] }, missing: view.missing, tracks: view.tracks });

    const v1Release = { id: v1.current_release?.id, version: 'v1' };
    const v2Release = { id: waiting.current_release?.id, version: 'v2' };
    expect(view.tracks).toEqual([
      { track: 'canary', release: v2Release },
      { track: 'primary', release: v1Release },
    ]);
    const seconds = (sent.to - sent.from) / 1000;
    const primaryRates = inside(view, 'requests_per_second', 'primary', sent);
    const canaryRates = inside(view, 'requests_per_second', 'canary', sent);
    expect(primaryRates.length, context).toBeGreaterThanOrEqual(3);
    expect(canaryRates.length, context).toBeGreaterThanOrEqual(3);
    // The primary serves only the client (15 % tolerance as above); the canary also Flagger's load tester's requests.
    for (const rate of primaryRates) expect(Math.abs(rate - fromV1.total / seconds) / (fromV1.total / seconds), `primary ${rate.toFixed(2)} req/s`).toBeLessThanOrEqual(0.15);
    for (const rate of canaryRates) expect(rate, 'canary req/s').toBeGreaterThanOrEqual((fromV2.total / seconds) * 0.85);
    console.log(
      `metrics, canary: client got v1 ${fromV1.total} (${fromV1.failed} failed), v2 ${fromV2.total} (${fromV2.failed} failed) in ${seconds.toFixed(0)} s; ` +
        `read primary ${primaryRates.map((r) => r.toFixed(2)).join(', ')} req/s, canary ${canaryRates.map((r) => r.toFixed(2)).join(', ')} req/s; ` +
        `error ratio primary ${inside(view, 'error_ratio', 'primary', sent).map((r) => r.toFixed(3)).join(', ')}, canary ${inside(view, 'error_ratio', 'canary', sent).join(', ')}`,
    );
    // Errors stay with the version that made them: a quarter of the primary's answers, none of the canary's.
    for (const ratio of inside(view, 'error_ratio', 'primary', sent)) expect(Math.abs(ratio - fromV1.failed / fromV1.total), `primary error ratio ${ratio}`).toBeLessThanOrEqual(0.04);
    for (const ratio of inside(view, 'error_ratio', 'canary', sent)) expect(ratio, 'canary error ratio').toBe(0);
    // Each track's own pods: CPU used, memory against the limit of its one pod.
    for (const track of ['primary', 'canary']) {
      expect(last(view, 'cpu_cores', track), `${track} CPU; ${context}`).toBeGreaterThan(0);
      expect(last(view, 'memory_limit_bytes', track), `${track} memory limit`).toBe(MEMORY_LIMIT);
    }
    expect(view.pods.map((p) => ({ track: p.track, release: p.release, primary: p.name.startsWith('split-primary-') }))).toEqual([
      { track: 'canary', release: v2Release, primary: false },
      { track: 'primary', release: v1Release, primary: true },
    ]);
    await platform.removeApp(v1.id);
  }, TEST_MS);

  it('a cluster without Prometheus answers 503 metrics_unavailable naming the cluster and prometheus_url, and the CLI exits 4 saying so; a Prometheus that does not answer is named too', async () => {
    const cluster = testClusterFromEnv();
    const registered = await platform.api<{ id: string }>('POST', '/clusters', { name: 'bare', kubeconfig: await readFile(cluster.kubeconfig, 'utf8') });
    expect(registered.status, JSON.stringify(registered.body)).toBe(201);
    const bareProject = await platform.api<{ id: string; name: string; namespace: string }>('POST', '/projects', { name: 'bare-metrics', cluster_id: registered.body.id });
    expect(bareProject.status, JSON.stringify(bareProject.body)).toBe(201);
    const created = await platform.api<{ app: AppView }>('POST', '/apps', {
      name: 'blind',
      project: bareProject.body.name,
      target_cluster_id: registered.body.id,
      task_type: 'deploy',
      // An image of the platform's registry (a registry.example host would not resolve); its pod runs on the simulated node.
      image_url: (await seedBaseImages(cluster.registryHost)).jar,
      port: 8080,
      version: 'v1',
      resource_spec: 'small',
    });
    expect(created.status, JSON.stringify(created.body)).toBe(202);
    const { status, body } = await platform.api<{ error: { code: string; message: string; details?: Record<string, unknown> } }>('GET', `/apps/${created.body.app.id}/metrics`);
    expect(status).toBe(503);
    expect(body.error).toEqual({
      code: 'metrics_unavailable',
      message: expect.stringMatching(/^cluster bare has no Prometheus registered \(prometheus_url\)/),
      details: { cluster: 'bare', missing: 'prometheus_url' },
    });
    const shown = await cli('metrics', 'blind', '--cluster', 'bare');
    expect(shown.code).toBe(4);
    expect(shown.stderr).toContain('cluster bare has no Prometheus registered (prometheus_url)');
    await platform.removeApp(created.body.app.id);
    expect((await platform.api('DELETE', `/clusters/${registered.body.id}?force=true`)).status).toBeLessThan(300);

    // A Prometheus registered but not answering (nothing listens on its port): 503 too, naming it, with Retry-After.
    const mute = await platform.api<{ id: string }>('POST', '/clusters', {
      name: 'mute',
      kubeconfig: await readFile(cluster.kubeconfig, 'utf8'),
      prometheus_url: `http://127.0.0.1:${await freePort()}`,
    });
    expect(mute.status, JSON.stringify(mute.body)).toBe(201);
    const muteProject = await platform.api<{ id: string; name: string; namespace: string }>('POST', '/projects', { name: 'mute-metrics', cluster_id: mute.body.id });
    const quiet = await platform.api<{ app: AppView }>('POST', '/apps', {
      name: 'deaf',
      project: muteProject.body.name,
      target_cluster_id: mute.body.id,
      image_url: (await seedBaseImages(cluster.registryHost)).jar,
      task_type: 'deploy',
      port: 8080,
      version: 'v1',
      resource_spec: 'small',
    });
    expect(quiet.status, JSON.stringify(quiet.body)).toBe(202);
    const unanswered = await fetch(`${platform.url}/apps/${quiet.body.app.id}/metrics`, { headers: { authorization: `Bearer ${platform.adminToken}` } });
    const unansweredBody = (await unanswered.json()) as { error: { code: string; message: string; details?: Record<string, unknown> } };
    expect(unanswered.status).toBe(503);
    expect(unanswered.headers.get('retry-after')).not.toBeNull();
    expect(unansweredBody.error).toMatchObject({ code: 'metrics_unavailable', message: expect.stringMatching(/^the Prometheus of cluster mute did not answer: /), details: { cluster: 'mute', missing: 'prometheus' } });
    await platform.removeApp(quiet.body.app.id);
    expect((await platform.api('DELETE', `/clusters/${mute.body.id}?force=true`)).status).toBeLessThan(300);
    if (cluster.kubectlBinary) {
      for (const namespace of [bareProject.body.namespace, muteProject.body.namespace]) {
        await run(cluster.kubectlBinary, [`--kubeconfig=${cluster.kubeconfig}`, 'delete', 'namespace', namespace, '--ignore-not-found', '--wait=false']);
      }
    }
  }, TEST_MS);
});
