// Blue/green with the real Flagger (kubernetes provider) on the local cluster: the new version is analysed with
// the app chart's MetricTemplates against the real Prometheus, then waits at the deployer's promotion gate; a
// promote completes it, an abort returns to the previous version. Flagger calls the deployer's webhooks on
// 127.0.0.1.
import type { ReleaseSpecV1 } from '@appserving/shared';
import type { KubernetesObject } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { eventually, startTestDeployer, type TestApp, type TestDeployer } from '../testing/test-deployer.ts';
import { startTraffic, type Traffic } from '../testing/traffic.ts';

const cluster = inject('appservingCluster');
let d: TestDeployer;
let app: TestApp;
let traffic: Traffic;

interface Canary extends KubernetesObject {
  status?: { phase?: string; canaryWeight?: number; iterations?: number; failedChecks?: number };
}

beforeAll(async () => {
  d = await startTestDeployer({ cluster });
  app = await d.createApp({ name: 'shop', strategy: 'blue-green', namespacePrefix: 'dep-bluegreen' });
  traffic = startTraffic(cluster.prometheusUrl, { namespace: app.namespace, app: 'shop' }, { successRatio: 1, latencySeconds: 0.02 });
});
afterAll(async () => {
  await traffic?.stop();
  await d?.close();
});

const image = (tag: string) => `${cluster.registryHost}/shop/shop:${tag}`;
const spec: ReleaseSpecV1 = {
  app_type: 'jar',
  port: 8080,
  resource_spec: 'small',
  strategy: 'blue-green',
  env: {},
  config: {},
  secret_names: [],
  volumes: [],
  replicas: 1,
  // Flagger analyses at most every 10 s here.
  analysis: { interval_seconds: 10, threshold: 2, iterations: 2, metric_window_seconds: 30 },
};
const canary = () => d.read<Canary>('flagger.app/v1beta1', 'Canary', app.namespace, 'shop');
const phase = (want: string) => (c: Canary | undefined) => c?.status?.phase === want;
const primaryImage = async () => (await d.apps.readNamespacedDeployment({ name: 'shop-primary', namespace: app.namespace })).spec?.template.spec?.containers[0]?.image;

describe('deployer: blue-green releases with Flagger', () => {
  it('the first release becomes the primary (Flagger initialises it; there is nothing to compare with)', async () => {
    const r1 = await app.deploy({ spec, image: image('v1') });
    await d.waitForStep(r1.release_id, 'applied');
    await eventually('Canary Initialized', canary, phase('Initialized'), 120_000);
    expect(await primaryImage()).toBe(image('v1'));
    // Flagger made the Services with the app's labels.
    const apex = await d.core.readNamespacedService({ name: 'shop', namespace: app.namespace });
    expect(apex.metadata?.labels).toMatchObject({ 'app.kubernetes.io/managed-by': 'appserving', 'appserving.dev/app-id': app.id });
    expect(apex.spec?.selector).toEqual({ 'app.kubernetes.io/name': 'shop-primary' });
  }, 180_000);

  it('the new version passes its analysis, waits for promotion, and a promote completes it', async () => {
    const r2 = await app.deploy({ spec, image: image('v2') });
    await d.waitForStep(r2.release_id, 'applied');
    const waiting = await d.waitForStep(r2.release_id, 'waiting-promotion', 150_000);
    expect(waiting.id).toBe(`${r2.release_id}.deploy.waiting-promotion`);
    await eventually('Canary WaitingPromotion', canary, phase('WaitingPromotion'), 30_000);
    // Still waiting a while later: nothing promotes it but a promote.
    await new Promise((resolve) => setTimeout(resolve, 12_000));
    expect((await canary())?.status?.phase).toBe('WaitingPromotion');
    expect(await primaryImage()).toBe(image('v1'));

    await app.promote(r2);
    await d.waitForStep(r2.release_id, 'promoted');
    await eventually('Canary Succeeded', canary, phase('Succeeded'), 120_000);
    expect(await primaryImage()).toBe(image('v2'));
    const primaryPods = (await d.core.listNamespacedPod({ namespace: app.namespace, labelSelector: 'app.kubernetes.io/name=shop-primary' })).items;
    expect(primaryPods.map((p) => p.metadata?.labels?.['appserving.dev/release-id'])).toContain(r2.release_id);
  }, 300_000);

  it('an abort returns traffic to the previous version', async () => {
    const r3 = await app.deploy({ spec, image: image('v3') });
    await d.waitForStep(r3.release_id, 'waiting-promotion', 150_000);
    await app.abort(r3);
    await d.waitForStep(r3.release_id, 'aborted');
    await eventually('Canary Failed', canary, phase('Failed'), 90_000);
    expect(await primaryImage()).toBe(image('v2'));
    const target = await d.apps.readNamespacedDeployment({ name: 'shop', namespace: app.namespace });
    expect(target.spec?.replicas).toBe(0);
    const apex = await d.core.readNamespacedService({ name: 'shop', namespace: app.namespace });
    expect(apex.spec?.selector).toEqual({ 'app.kubernetes.io/name': 'shop-primary' });
    // An aborted release is not reported as a failed analysis.
    expect(d.steps.filter((s) => s.release.release_id === r3.release_id).map((s) => s.step)).not.toContain('rolled-back');
  }, 300_000);

  it('switching to rolling removes the Canary and what Flagger made; the chart\'s own Service and Deployment serve', async () => {
    const r4 = await app.deploy({ spec: { ...spec, strategy: 'rolling', analysis: undefined }, image: image('v4') });
    await d.waitForStep(r4.release_id, 'applied', 120_000);
    expect(await canary()).toBeUndefined();
    expect(await d.read('apps/v1', 'Deployment', app.namespace, 'shop-primary')).toBeUndefined();
    expect(await d.read('v1', 'Service', app.namespace, 'shop-primary')).toBeUndefined();
    const service = await d.core.readNamespacedService({ name: 'shop', namespace: app.namespace });
    expect(service.spec?.selector).toEqual({ 'app.kubernetes.io/name': 'shop', 'app.kubernetes.io/instance': 'shop' });
    expect(service.metadata?.ownerReferences ?? []).toEqual([]);
    await eventually('release 4 serving', () => d.apps.readNamespacedDeployment({ name: 'shop', namespace: app.namespace }), (dep) => {
      return dep.spec?.template.spec?.containers[0]?.image === image('v4') && dep.status?.readyReplicas === 1;
    });
  }, 180_000);
});
