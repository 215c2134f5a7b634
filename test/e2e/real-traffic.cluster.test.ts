// Canary and blue/green with real traffic: the hello server (compiled by the test) on the local cluster's real
// node, requests through the traffic gateway (Traefik) on 127.0.0.1, Flagger weighting the route, the analysis
// reading the gateway's own request metrics from Prometheus (scraped, not written by the test), and Flagger's load
// tester sending the new version requests at every step. A steady client plays the user and counts every answer.
import { startPlatform, type Platform } from '@appserving/test-support/platform';
import { getFromEndpoint, helloJar, startSteadyClient, type ClientSample, type SteadyClient } from '@appserving/test-support/real-apps';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitForApp, type AppView, type ReleaseView } from './e2e-support.ts';

let platform: Platform;
let project: { name: string; namespace: string };
const clients: SteadyClient[] = [];
const TEST_MS = 540_000;
const SMALL = { cpu: '250m', memory: '384Mi' };

beforeAll(async () => {
  // Pods of 250m: a primary, the canary (or green), and the primary's surge pod while it is promoted; one more
  // terminating (each test removes its app at the end).
  platform = await startPlatform({ realNode: true, realNodeCpu: 1000, env: { APPSERVING_WATCHER_PROGRESSING_DEADLINE_MS: '300000' } });
  project = await platform.createProject('traffic');
}, 300_000);

afterAll(async () => {
  for (const client of clients) await client.stop();
  await platform?.stop();
});

const explain = () => `platform log: ${platform.logFile}; last problems: ${JSON.stringify(platform.problems().slice(-5))}`;

/** The hello jar of `version` uploaded; its artifact_url. */
async function upload(version: string): Promise<string> {
  const body = await helloJar(version);
  const response = await fetch(`${platform.url}/artifacts?filename=hello-${version}.jar`, {
    method: 'POST',
    headers: { authorization: `Bearer ${platform.adminToken}`, 'content-type': 'application/java-archive' },
    body,
  });
  const uploaded = (await response.json()) as { artifact_url?: string };
  if (response.status !== 201 || !uploaded.artifact_url) throw new Error(`upload answered ${response.status}: ${JSON.stringify(uploaded)}`);
  return uploaded.artifact_url;
}

const versionDone = (version: number, statuses = ['succeeded', 'failed', 'aborted', 'waiting-promotion']) => (app: AppView) =>
  app.current_release?.version === version && statuses.includes(app.current_release.status);

async function create(name: string, strategy: 'rolling' | 'canary' | 'blue-green', analysis: Record<string, unknown>): Promise<{ id: string; url: string }> {
  const created = await platform.api<{ app: AppView }>('POST', '/apps', {
    name,
    version: 'v1',
    project: project.name,
    task_type: 'all',
    artifact_url: await upload('v1'),
    strategy,
    ...(strategy === 'rolling' ? {} : { analysis }),
    resource_spec: SMALL,
    health_path: '/health',
  });
  expect(created.status, JSON.stringify(created.body)).toBe(202);
  const v1 = await waitForApp(platform, created.body.app.id, { done: versionDone(1), timeoutMs: 300_000 });
  expect(v1.current_release?.status, explain()).toBe('succeeded');
  return { id: v1.id, url: v1.endpoints?.public ?? '' };
}

async function update(appId: string, version: string, extra: Record<string, unknown> = {}): Promise<void> {
  const updated = await platform.api('PATCH', `/apps/${appId}`, { version, task_type: 'all', artifact_url: await upload(version), ...extra });
  expect(updated.status, JSON.stringify(updated.body)).toBe(202);
}

interface TimelineItem {
  type: string;
  release_id: string | null;
  occurred_at: string;
  data: { status?: string; canary_weight?: number; step?: number; weight?: number; verdict?: string; metrics?: { name: string; value: number | null; verdict: string }[] };
}

async function timeline(appId: string, releaseId: string): Promise<TimelineItem[]> {
  const { body } = await platform.api<{ items: TimelineItem[] }>('GET', `/apps/${appId}/timeline?limit=1000`);
  return body.items.filter((e) => e.release_id === releaseId);
}

/** Share of the client's answers from `version` among those sent in [from, to). */
function share(samples: readonly ClientSample[], version: string, from: number, to: number): { share: number; n: number } {
  const inside = samples.filter((s) => s.at >= from && s.at < to && s.status === 200);
  return { share: inside.filter((s) => s.version === version).length / Math.max(1, inside.length), n: inside.length };
}

const failed = (samples: readonly ClientSample[]) => samples.filter((s) => s.status !== 200);

/**
 * A steady client on `url`, started once the app answers there as `version`: the gateway learns a new route a moment
 * after a release succeeds (as any ingress does); what is measured is what users meet during the next release.
 */
async function userOf(url: string, version: string, rps = 10): Promise<SteadyClient> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const answer = await getFromEndpoint(url).catch(() => ({ status: 0, body: '' }));
    if (answer.status === 200 && answer.body.startsWith(`hello ${version} `)) break;
    if (Date.now() > deadline) throw new Error(`${url} never answered as ${version}: ${answer.status} ${answer.body}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  const client = startSteadyClient(url, rps);
  clients.push(client);
  return client;
}

describe.concurrent('real traffic through the gateway', () => {
  it('canary of a good v2: at each step the users\' share of v2 matches the weight, it is promoted, and no request fails', async () => {
    const app = await create('good', 'canary', { interval_seconds: 10, threshold: 3, step_weight: 20, max_weight: 60, metric_window_seconds: 20, load_rps: 10 });
    const client = await userOf(app.url, 'v1');
    await update(app.id, 'v2');
    const v2 = await waitForApp(platform, app.id, { done: versionDone(2), timeoutMs: 420_000 });
    const release = v2.current_release as ReleaseView;
    expect(release.status, explain()).toBe('succeeded');
    await new Promise((resolve) => setTimeout(resolve, 3_000));
    const samples = await client.stop();

    // Each weight the release had, from when it was announced to the next change.
    const steps = (await timeline(app.id, release.id))
      .filter((e) => e.type === 'dev.appserving.release.status.v1')
      .map((e) => ({ at: Date.parse(e.occurred_at), status: e.data.status, weight: e.data.canary_weight }));
    const weighted = steps.filter((s) => s.status === 'progressing' && s.weight !== undefined && s.weight > 0);
    expect(weighted.map((s) => s.weight), explain()).toEqual(expect.arrayContaining([20, 40, 60]));
    for (const [i, step] of weighted.entries()) {
      const next = steps.find((s) => s.at > step.at && (s.weight !== step.weight || s.status !== 'progressing'))?.at ?? step.at + 10_000;
      // The gateway applies a new weight within a second or two of Flagger writing it.
      const seen = share(samples, 'v2', step.at + 2_500, next - 500);
      expect(seen.n, `requests during step ${i} (${step.weight}%)`).toBeGreaterThanOrEqual(20);
      expect(Math.abs(seen.share - (step.weight ?? 0) / 100), `v2's share at ${step.weight}%: ${seen.share.toFixed(2)} of ${seen.n}`).toBeLessThanOrEqual(0.15);
    }
    const done = Date.parse(release.finished_at ?? '') || Date.now();
    expect(share(samples, 'v2', done + 2_000, Date.now()).share, 'after the promotion everyone gets v2').toBe(1);
    expect(failed(samples), 'failed requests of the steady client').toEqual([]);
    // Every step judged on the real success rate of the traffic v2 served.
    const judged = (await timeline(app.id, release.id)).filter((e) => e.type === 'dev.appserving.canary.analysis.v1' && (e.data.weight ?? 0) > 0);
    const rates = judged.map((step) => step.data.metrics?.find((m) => m.name === 'success-rate')).filter((m) => m?.verdict !== 'no-data');
    // (A step recorded just as v2's first requests arrive may find no series yet: "no data", not a failure.)
    expect(rates.length, JSON.stringify(judged.map((s) => s.data))).toBeGreaterThan(0);
    for (const rate of rates) expect(rate).toMatchObject({ value: 100, verdict: 'pass' });
    await platform.removeApp(app.id);
  }, TEST_MS);

  it('canary of a bad v2 (a 500 for every third request): analysis fails on the real success rate, Flagger rolls back, the release fails naming the metric', async () => {
    const app = await create('bad', 'canary', { interval_seconds: 10, threshold: 2, step_weight: 20, max_weight: 60, metric_window_seconds: 20, load_rps: 10 });
    await update(app.id, 'v2', { env: { HELLO_FAIL_EVERY: '3' } });
    const v2 = await waitForApp(platform, app.id, { done: versionDone(2, ['succeeded', 'failed', 'aborted']), timeoutMs: 420_000 });
    const release = v2.current_release as ReleaseView;
    expect(release.status, explain()).toBe('failed');
    const diagnosis = release.diagnosis as { code: string; summary: string; evidence: Record<string, unknown> };
    expect(diagnosis.code).toBe('canary-analysis-failed');
    expect(JSON.stringify(diagnosis)).toContain('success-rate');
    // The values that failed the steps were the gateway's: about two thirds of v2's answers were good. (A step
    // measured when v2 had served one or two requests in its window may show 100: it passed, and is not counted.)
    const steps = (await timeline(app.id, release.id)).filter((e) => e.type === 'dev.appserving.canary.analysis.v1');
    const values = steps
      .flatMap((e) => e.data.metrics ?? [])
      .filter((m) => m.name === 'success-rate' && m.value !== null && m.verdict === 'fail')
      .map((m) => m.value as number);
    // And the value Flagger itself halted on, as its message in the diagnosis quotes it ("success-rate 66.96 < 99").
    for (const match of JSON.stringify(diagnosis).matchAll(/success-rate (\d+(?:\.\d+)?) < /g)) values.push(Number(match[1]));
    expect(values.length, `${explain()}; diagnosis: ${JSON.stringify(diagnosis)}; steps: ${JSON.stringify(steps.map((e) => e.data))}`).toBeGreaterThan(0);
    for (const value of values) {
      expect(value).toBeGreaterThan(50);
      expect(value).toBeLessThan(80);
    }
    // Users are back on v1 only.
    const after = startSteadyClient(app.url, 10);
    await new Promise((resolve) => setTimeout(resolve, 3_000));
    const samples = await after.stop();
    expect(samples.every((s) => s.status === 200 && s.version === 'v1'), JSON.stringify(samples.slice(0, 5))).toBe(true);
    await platform.removeApp(app.id);
  }, TEST_MS);

  it('blue/green: users stay on the live version through analysis and the gate, switch all at once on promote; an abort keeps them where they are', async () => {
    const app = await create('switch', 'blue-green', { interval_seconds: 10, threshold: 3, iterations: 2, metric_window_seconds: 20, load_rps: 10, manual_promotion: true });
    const client = await userOf(app.url, 'v1');
    await update(app.id, 'v2');
    const waiting = await waitForApp(platform, app.id, { done: versionDone(2), timeoutMs: 420_000 });
    expect(waiting.current_release?.status, explain()).toBe('waiting-promotion');
    await new Promise((resolve) => setTimeout(resolve, 3_000));
    const promoteAt = Date.now();
    expect(share(client.samples, 'v1', 0, promoteAt).share, 'before the promote everyone gets v1').toBe(1);
    expect((await platform.api('POST', `/apps/${app.id}/promote`, {})).status).toBe(202);
    const v2 = await waitForApp(platform, app.id, { done: versionDone(2, ['succeeded', 'failed', 'aborted']), timeoutMs: 300_000 });
    expect(v2.current_release?.status, explain()).toBe('succeeded');
    await new Promise((resolve) => setTimeout(resolve, 3_000));
    // All at once: after the first answer from v2, no one gets v1 again.
    const firstV2 = client.samples.find((s) => s.version === 'v2')?.at ?? Infinity;
    expect(client.samples.filter((s) => s.at > firstV2 && s.version === 'v1'), 'v1 answers after the switch').toEqual([]);

    await update(app.id, 'v3');
    const gated = await waitForApp(platform, app.id, { done: versionDone(3), timeoutMs: 420_000 });
    expect(gated.current_release?.status, explain()).toBe('waiting-promotion');
    expect((await platform.api('POST', `/apps/${app.id}/abort`, {})).status).toBe(202);
    const aborted = await waitForApp(platform, app.id, { done: versionDone(3, ['succeeded', 'failed', 'aborted']), timeoutMs: 300_000 });
    expect(['aborted', 'failed']).toContain(aborted.current_release?.status);
    await new Promise((resolve) => setTimeout(resolve, 3_000));
    const samples = await client.stop();
    expect(samples.filter((s) => s.version === 'v3'), 'v3 never reached a user').toEqual([]);
    expect(failed(samples), 'failed requests of the steady client').toEqual([]);
    await platform.removeApp(app.id);
  }, TEST_MS);

  it('a rolling update under a steady client loses no request', async () => {
    const app = await create('steady', 'rolling', {});
    const client = await userOf(app.url, 'v1', 20);
    await update(app.id, 'v2');
    const v2 = await waitForApp(platform, app.id, { done: versionDone(2), timeoutMs: 300_000 });
    expect(v2.current_release?.status, explain()).toBe('succeeded');
    // Past the old pod's shutdown (it keeps serving for the shutdown delay, then stops).
    await new Promise((resolve) => setTimeout(resolve, 10_000));
    const samples = await client.stop();
    expect(samples.length).toBeGreaterThan(100);
    expect(failed(samples), 'failed requests of the steady client').toEqual([]);
    expect(samples.at(-1)?.version).toBe('v2');
    await platform.removeApp(app.id);
  }, TEST_MS);
});
