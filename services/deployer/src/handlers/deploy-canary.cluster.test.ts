// Canary with the real Flagger on the Gateway API provider: with good request metrics in the real Prometheus the
// traffic weight on the new version steps up (Flagger weights the HTTPRoute it made) until it is promoted.
import type { ReleaseSpecV1 } from '@appserving/shared';
import { ensureGatewayApiCrds } from '@appserving/test-cluster';
import type { KubernetesObject } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { eventually, startTestDeployer, type TestApp, type TestDeployer } from '../testing/test-deployer.ts';
import { startTraffic, type Traffic } from '../testing/traffic.ts';

const cluster = inject('appservingCluster');
let d: TestDeployer;
let app: TestApp;
let traffic: Traffic;

interface Canary extends KubernetesObject {
  status?: { phase?: string; canaryWeight?: number };
}
interface HttpRoute extends KubernetesObject {
  spec?: { hostnames?: string[]; parentRefs?: { name: string; namespace?: string }[]; rules?: { backendRefs?: { name: string; weight?: number }[] }[] };
}

beforeAll(async () => {
  ensureGatewayApiCrds(cluster);
  d = await startTestDeployer({
    cluster,
    env: { APPSERVING_TRAFFIC_PROVIDER: 'gatewayapi', APPSERVING_APP_GATEWAY: 'gateway-system/public', APPSERVING_APP_DOMAIN: 'apps.test' },
  });
  app = await d.createApp({ name: 'cart', strategy: 'canary', namespacePrefix: 'dep-canary' });
  traffic = startTraffic(cluster.prometheusUrl, { namespace: app.namespace, app: 'cart' }, { successRatio: 1, latencySeconds: 0.03 });
});
afterAll(async () => {
  await traffic?.stop();
  await d?.close();
});

const image = (tag: string) => `${cluster.registryHost}/shop/cart:${tag}`;
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
const canary = () => d.read<Canary>('flagger.app/v1beta1', 'Canary', app.namespace, 'cart');
const route = () => d.read<HttpRoute>('gateway.networking.k8s.io/v1', 'HTTPRoute', app.namespace, 'cart');
const weights = (r: HttpRoute | undefined) => Object.fromEntries((r?.spec?.rules?.[0]?.backendRefs ?? []).map((b) => [b.name, b.weight]));

describe('deployer: canary releases with Flagger on the Gateway API', () => {
  it('the first release becomes the primary, behind the HTTPRoute Flagger made', async () => {
    const r1 = await app.deploy({ spec, image: image('v1') });
    await d.waitForStep(r1.release_id, 'applied');
    await eventually('Canary Initialized', canary, (c) => c?.status?.phase === 'Initialized', 120_000);
    const httpRoute = await eventually('the HTTPRoute', route, (r) => r !== undefined);
    expect(httpRoute?.spec?.parentRefs).toEqual([{ group: 'gateway.networking.k8s.io', kind: 'Gateway', name: 'public', namespace: 'gateway-system' }]);
    expect(httpRoute?.spec?.hostnames).toEqual([`cart-${app.namespace}.apps.test`]);
    expect(weights(httpRoute)).toEqual({ 'cart-primary': 100, 'cart-canary': 0 });
    expect(httpRoute?.metadata?.labels).toMatchObject({ 'app.kubernetes.io/managed-by': 'appserving', 'appserving.dev/app-id': app.id });
  }, 180_000);

  it('with good metrics the weight steps up, 25 then 50, and the new version is promoted', async () => {
    const r2 = await app.deploy({ spec, image: image('v2') });
    await d.waitForStep(r2.release_id, 'applied');
    const seenCanary = new Set<number>();
    const seenRoute = new Set<string>();
    await eventually(
      'Canary Succeeded',
      async () => {
        const [c, r] = await Promise.all([canary(), route()]);
        if (c?.status?.canaryWeight !== undefined) seenCanary.add(c.status.canaryWeight);
        const w = weights(r);
        seenRoute.add(`${w['cart-primary']}/${w['cart-canary']}`);
        return c;
      },
      (c) => c?.status?.phase === 'Succeeded',
      240_000,
    );
    expect([...seenCanary]).toEqual(expect.arrayContaining([25, 50]));
    expect([...seenRoute]).toEqual(expect.arrayContaining(['75/25', '50/50']));
    expect(weights(await route())).toEqual({ 'cart-primary': 100, 'cart-canary': 0 });
    const primary = await d.apps.readNamespacedDeployment({ name: 'cart-primary', namespace: app.namespace });
    expect(primary.spec?.template.spec?.containers[0]?.image).toBe(image('v2'));
    // Automatic promotion: no gate was asked, nothing rolled back.
    expect(d.steps.filter((s) => s.release.release_id === r2.release_id).map((s) => s.step)).toEqual(['applied']);
  }, 300_000);

  it('a rollback with skip_analysis restores the earlier release at once: no traffic steps, no analysis', async () => {
    // What the gateway publishes for POST /apps/{id}/rollback with skip_analysis: release 1's spec and image.
    const r3 = await app.deploy({ spec, image: image('v1'), skipAnalysis: true });
    await d.waitForStep(r3.release_id, 'applied');
    const seen = new Set<number>();
    await eventually(
      'the primary back on v1',
      async () => {
        const c = await canary();
        seen.add(c?.status?.canaryWeight ?? 0);
        const primary = await d.apps.readNamespacedDeployment({ name: 'cart-primary', namespace: app.namespace });
        return { phase: c?.status?.phase, image: primary.spec?.template.spec?.containers[0]?.image };
      },
      (now) => now.phase === 'Succeeded' && now.image === image('v1'),
      90_000,
    );
    expect([...seen].filter((w) => w > 0)).toEqual([]);
    const events = (await d.core.listNamespacedEvent({ namespace: app.namespace, fieldSelector: 'involvedObject.kind=Canary,involvedObject.name=cart' })).items.map((e) => e.message ?? '');
    expect(events.some((m) => /Canary analysis was skipped/.test(m))).toBe(true);
  }, 180_000);
});
