// Canary with the real Flagger on the nginx provider: when the new version's request metrics in the real
// Prometheus are bad, Flagger halts, rolls back, and the deployer reports the release rolled back naming the
// metric (from Flagger's events, sent to the release's event webhook).
import type { ReleaseSpecV1 } from '@appserving/shared';
import type { KubernetesObject, V1Ingress } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { eventually, startTestDeployer, type TestApp, type TestDeployer } from '../testing/test-deployer.ts';
import { startTraffic, type Traffic } from '../testing/traffic.ts';

const cluster = inject('appservingCluster');
let d: TestDeployer;
let app: TestApp;
let traffic: Traffic;

interface Canary extends KubernetesObject {
  status?: { phase?: string; canaryWeight?: number; failedChecks?: number };
}

beforeAll(async () => {
  d = await startTestDeployer({ cluster, env: { APPSERVING_TRAFFIC_PROVIDER: 'nginx', APPSERVING_APP_DOMAIN: 'apps.test' } });
  app = await d.createApp({ name: 'billing', strategy: 'canary', namespacePrefix: 'dep-canary-bad' });
  traffic = startTraffic(cluster.prometheusUrl, { namespace: app.namespace, app: 'billing' }, { successRatio: 1, latencySeconds: 0.03 });
});
afterAll(async () => {
  await traffic?.stop();
  await d?.close();
});

const image = (tag: string) => `${cluster.registryHost}/shop/billing:${tag}`;
const spec: ReleaseSpecV1 = {
  app_type: 'jar',
  port: 8080,
  resource_spec: 'small',
  strategy: 'canary',
  env: {},
  config: {},
  secret_names: [],
  volumes: [],
  replicas: 1,
  analysis: { interval_seconds: 10, threshold: 2, step_weight: 25, max_weight: 50, metric_window_seconds: 30 },
};
const canary = () => d.read<Canary>('flagger.app/v1beta1', 'Canary', app.namespace, 'billing');

describe('deployer: a canary with bad metrics is rolled back (nginx provider)', () => {
  it('the first release becomes the primary behind the app\'s Ingress', async () => {
    const r1 = await app.deploy({ spec, image: image('v1') });
    await d.waitForStep(r1.release_id, 'applied');
    await eventually('Canary Initialized', canary, (c) => c?.status?.phase === 'Initialized', 120_000);
    const ingress = await d.read<V1Ingress>('networking.k8s.io/v1', 'Ingress', app.namespace, 'billing');
    expect(ingress?.spec?.rules?.[0]?.host).toBe(`billing-${app.namespace}.apps.test`);
    const clone = await eventually('the canary Ingress', () => d.read<V1Ingress>('networking.k8s.io/v1', 'Ingress', app.namespace, 'billing-canary'), (i) => i !== undefined);
    expect(clone?.metadata?.annotations).toMatchObject({ 'nginx.ingress.kubernetes.io/canary': 'true', 'nginx.ingress.kubernetes.io/canary-weight': '0' });
  }, 180_000);

  it('bad metrics: Flagger rolls back and the release is reported rolled back with the metric named', async () => {
    // The new version answers half of its requests with a 500.
    traffic.set({ successRatio: 0.5, latencySeconds: 0.03 });
    const r2 = await app.deploy({ spec, image: image('v2') });
    await d.waitForStep(r2.release_id, 'applied');
    const rolledBack = await d.waitForStep(r2.release_id, 'rolled-back', 240_000);
    expect(rolledBack.reason).toMatch(/^canary analysis failed: Halt billing\.\S+ advancement success-rate 50\.00 < 99$/);
    const failed = await eventually('Canary Failed', canary, (c) => c?.status?.phase === 'Failed', 60_000);
    expect(failed?.status?.canaryWeight).toBe(0);
    const primary = await d.apps.readNamespacedDeployment({ name: 'billing-primary', namespace: app.namespace });
    expect(primary.spec?.template.spec?.containers[0]?.image).toBe(image('v1'));
    const clone = await d.read<V1Ingress>('networking.k8s.io/v1', 'Ingress', app.namespace, 'billing-canary');
    expect(clone?.metadata?.annotations?.['nginx.ingress.kubernetes.io/canary-weight']).toBe('0');
    const events = (await d.core.listNamespacedEvent({ namespace: app.namespace, fieldSelector: 'involvedObject.kind=Canary,involvedObject.name=billing' })).items.map((e) => e.message ?? '');
    expect(events.some((m) => /advancement success-rate 50\.00 < 99/.test(m))).toBe(true);
  }, 300_000);

  it('deleting the app leaves nothing of it behind, Flagger\'s objects included', async () => {
    const latest = d.steps.filter((s) => s.release.app_id === app.id).at(-1)?.release;
    if (!latest) throw new Error('no release');
    await app.delete(latest);
    await d.waitForStep(latest.release_id, 'deleted', 240_000);
    const namespace = app.namespace;
    const names = (items: { metadata?: { name?: string } }[]) => items.map((o) => o.metadata?.name ?? '').filter((n) => n.startsWith('billing'));
    const left = {
      canaries: names((await d.objects.list('flagger.app/v1beta1', 'Canary', namespace)).items),
      metricTemplates: names((await d.objects.list('flagger.app/v1beta1', 'MetricTemplate', namespace)).items),
      ingresses: names((await d.objects.list('networking.k8s.io/v1', 'Ingress', namespace)).items),
      deployments: names((await d.apps.listNamespacedDeployment({ namespace })).items),
      replicaSets: names((await d.apps.listNamespacedReplicaSet({ namespace })).items),
      pods: names((await d.core.listNamespacedPod({ namespace })).items),
      services: names((await d.core.listNamespacedService({ namespace })).items),
      configMaps: names((await d.core.listNamespacedConfigMap({ namespace })).items),
      secrets: (await d.core.listNamespacedSecret({ namespace })).items.map((o) => o.metadata?.name ?? '').filter((n) => n.includes('billing')),
    };
    expect(left).toEqual({ canaries: [], metricTemplates: [], ingresses: [], deployments: [], replicaSets: [], pods: [], services: [], configMaps: [], secrets: [] });
  }, 300_000);
});
