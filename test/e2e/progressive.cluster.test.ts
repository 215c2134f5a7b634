// Canary and blue/green through the REST API, on the real Flagger and the real Prometheus of the local cluster:
// request metrics of the version under analysis are written into Prometheus (as the OpenTelemetry Java agent
// would export them) and decide the outcome; a person promotes or aborts a blue/green release.
import { ensureGatewayApiCrds } from '@appserving/test-cluster';
import type {} from '@appserving/test-cluster/global-setup';
import { startPlatform, type Platform } from '@appserving/test-support/platform';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { startTraffic, type Traffic } from '../../services/deployer/src/testing/traffic.ts';
import { openEventStream, statusesIn, waitForApp, type AppView, type ReleaseView } from './e2e-support.ts';

const cluster = inject('appservingCluster');
let platform: Platform;
let project: { name: string; namespace: string };
const traffic: Traffic[] = [];
const TEST_MS = 420_000;
// Flagger analyses at most every 10 s here; short windows keep each scenario around a minute.
const analysis = { interval_seconds: 10, threshold: 2, step_weight: 25, max_weight: 50, metric_window_seconds: 30, iterations: 2 };

beforeAll(async () => {
  ensureGatewayApiCrds(cluster);
  platform = await startPlatform({ env: { APPSERVING_APP_GATEWAY: 'gateway-system/public', APPSERVING_APP_DOMAIN: 'apps.test' } });
  project = await platform.createProject('prog');
}, 300_000);

afterAll(async () => {
  for (const t of traffic) await t.stop();
  await platform?.stop();
});

const explain = () => `platform log: ${platform.logFile}; last problems: ${JSON.stringify(platform.problems().slice(-5))}`;
const image = (app: string, tag: string) => `${cluster.registryHost}/e2e-${project.namespace}/${app}:${tag}`;
const versionDone = (version: number) => (app: AppView) => app.current_release?.version === version && ['succeeded', 'failed', 'aborted', 'waiting-promotion'].includes(app.current_release.status);

async function deployFirst(name: string, strategy: 'canary' | 'blue-green'): Promise<string> {
  const created = await platform.api<{ app: AppView }>('POST', '/apps', { name, project: project.name, task_type: 'deploy', image_url: image(name, 'v1'), strategy, analysis, resource_spec: 'small' });
  expect(created.status, JSON.stringify(created.body)).toBe(202);
  const appId = created.body.app.id;
  // The first release of a canary app has nothing to compare with: Flagger makes it the primary.
  const v1 = await waitForApp(platform, appId, { done: versionDone(1), timeoutMs: 240_000 });
  expect(v1.current_release?.status, explain()).toBe('succeeded');
  return appId;
}

async function update(appId: string, name: string, tag: string): Promise<void> {
  const updated = await platform.api('PATCH', `/apps/${appId}`, { task_type: 'deploy', image_url: image(name, tag) });
  expect(updated.status, JSON.stringify(updated.body)).toBe(202);
}

interface AnalysisEntry {
  type: string;
  data: { step: number; weight: number; verdict: string; metrics: { name: string; value: number | null; verdict: string }[] };
}

async function analysisRecord(appId: string, releaseId: string): Promise<AnalysisEntry['data'][]> {
  const timeline = await platform.api<{ items: (AnalysisEntry & { release_id: string })[] }>('GET', `/apps/${appId}/timeline?limit=1000`);
  return timeline.body.items.filter((e) => e.type === 'dev.appserving.canary.analysis.v1' && e.release_id === releaseId).map((e) => e.data);
}

describe.concurrent('canary', () => {
  it('good metrics: the weight steps up (25, then 50) and the new version is promoted; each step is recorded', async () => {
    const appId = await deployFirst('cart', 'canary');
    traffic.push(startTraffic(cluster.prometheusUrl, { namespace: project.namespace, app: 'cart' }, { successRatio: 1, latencySeconds: 0.03 }));
    const stream = openEventStream(platform, appId);
    await update(appId, 'cart', 'v2');
    const v2 = await waitForApp(platform, appId, { done: versionDone(2), timeoutMs: 300_000 });
    stream.close();
    const release = v2.current_release as ReleaseView;
    expect(release.status, explain()).toBe('succeeded');
    const weights = statusesIn(stream.events, release.id)
      .map((s) => s.weight)
      .filter((w): w is number => w !== undefined);
    expect(weights).toEqual(expect.arrayContaining([25, 50]));
    const steps = await analysisRecord(appId, release.id);
    expect(steps.length, explain()).toBeGreaterThanOrEqual(2);
    for (const step of steps.filter((s) => s.weight > 0)) {
      expect(step.verdict).toBe('pass');
      const rate = step.metrics.find((m) => m.name === 'success-rate');
      expect(rate).toMatchObject({ verdict: 'pass' });
      expect(rate?.value).toBeGreaterThan(99);
    }
  }, TEST_MS);

  it('bad metrics: Flagger rolls back and the release fails naming the metric and its value', async () => {
    const appId = await deployFirst('pay', 'canary');
    traffic.push(startTraffic(cluster.prometheusUrl, { namespace: project.namespace, app: 'pay' }, { successRatio: 0.6, latencySeconds: 0.03 }));
    await update(appId, 'pay', 'v2');
    const v2 = await waitForApp(platform, appId, { done: versionDone(2), timeoutMs: 300_000 });
    const release = v2.current_release as ReleaseView;
    expect(release.status, explain()).toBe('failed');
    expect(release.diagnosis?.code).toBe('canary-analysis-failed');
    expect(`${release.diagnosis?.summary} ${JSON.stringify(release.diagnosis?.evidence)}`).toContain('success-rate');
    const steps = await analysisRecord(appId, release.id);
    expect(steps.some((s) => s.verdict === 'fail' && s.metrics.some((m) => m.name === 'success-rate' && m.verdict === 'fail'))).toBe(true);
    // The stable version still serves: the app is running v1.
    const history = await platform.api<{ items: ReleaseView[] }>('GET', `/apps/${appId}/releases`);
    expect(history.body.items.map((r) => [r.version, r.status])).toEqual([
      [2, 'failed'],
      [1, 'succeeded'],
    ]);
  }, TEST_MS);
});

describe.concurrent('blue/green', () => {
  it('the new version waits for promotion; a promote completes it', async () => {
    const appId = await deployFirst('web', 'blue-green');
    traffic.push(startTraffic(cluster.prometheusUrl, { namespace: project.namespace, app: 'web' }, { successRatio: 1, latencySeconds: 0.02 }));
    await update(appId, 'web', 'v2');
    const waiting = await waitForApp(platform, appId, { done: versionDone(2), timeoutMs: 300_000 });
    expect(waiting.current_release?.status, explain()).toBe('waiting-promotion');
    // Nothing moves without the person: still waiting a while later.
    await new Promise((resolve) => setTimeout(resolve, 15_000));
    expect((await platform.api<AppView>('GET', `/apps/${appId}`)).body.current_release?.status).toBe('waiting-promotion');
    expect((await platform.api('POST', `/apps/${appId}/promote`)).status).toBe(202);
    const done = await waitForApp(platform, appId, { done: (a) => a.current_release?.version === 2 && ['succeeded', 'failed'].includes(a.current_release.status), timeoutMs: 240_000 });
    expect(done.current_release?.status, explain()).toBe('succeeded');
  }, TEST_MS);

  it('an abort returns traffic to the previous version and the release ends aborted', async () => {
    const appId = await deployFirst('api', 'blue-green');
    traffic.push(startTraffic(cluster.prometheusUrl, { namespace: project.namespace, app: 'api' }, { successRatio: 1, latencySeconds: 0.02 }));
    await update(appId, 'api', 'v2');
    const waiting = await waitForApp(platform, appId, { done: versionDone(2), timeoutMs: 300_000 });
    expect(waiting.current_release?.status, explain()).toBe('waiting-promotion');
    expect((await platform.api('POST', `/apps/${appId}/abort`)).status).toBe(202);
    const done = await waitForApp(platform, appId, { done: (a) => a.current_release?.version === 2 && ['succeeded', 'failed', 'aborted'].includes(a.current_release.status), timeoutMs: 240_000 });
    expect(done.current_release?.status, explain()).toBe('aborted');
    expect(done.status).toBe('running');
  }, TEST_MS);
});
