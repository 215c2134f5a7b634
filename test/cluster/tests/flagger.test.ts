// Real Flagger (kubernetes provider, blue/green) against the local control plane and the local Prometheus.
// Pod readiness comes from kwok; Flagger judges it from Deployment status computed by the real controller manager.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { KubernetesObject, V1Deployment } from '@kubernetes/client-node';
import { remoteWrite } from '../src/index.ts';
import { createNamespace, deleteNamespace, deployment, eventually, kube } from './helpers.ts';

const k = kube();
let ns: string;

beforeAll(async () => {
  ns = await createNamespace(k, 'flagger');
});
afterAll(async () => {
  await deleteNamespace(k, ns);
});

interface Canary extends KubernetesObject {
  status?: { phase?: string; failedChecks?: number; canaryWeight?: number; iterations?: number };
}

const readCanary = (name: string) => () => k.objects.read<Canary>({ apiVersion: 'flagger.app/v1beta1', kind: 'Canary', metadata: { name, namespace: ns } });
const phase = (want: string) => (c: Canary) => c.status?.phase === want;
const image = async (name: string) => (await k.apps.readNamespacedDeployment({ name, namespace: ns })).spec?.template.spec?.containers[0]?.image;

async function changeImage(name: string, to: string): Promise<void> {
  // read-modify-replace: keeps the replica count Flagger set on the target.
  const d = await k.apps.readNamespacedDeployment({ name, namespace: ns });
  d.spec!.template.spec!.containers[0]!.image = to;
  await k.apps.replaceNamespacedDeployment({ name, namespace: ns, body: d });
}

function canary(name: string, analysis: Record<string, unknown>): Canary {
  return {
    apiVersion: 'flagger.app/v1beta1',
    kind: 'Canary',
    metadata: { name, namespace: ns },
    spec: {
      provider: 'kubernetes',
      targetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name },
      progressDeadlineSeconds: 60,
      service: { port: 80, targetPort: 8080 },
      analysis: { interval: '3s', threshold: 2, iterations: 2, ...analysis },
    },
  } as Canary;
}

async function initialized(name: string): Promise<void> {
  await k.apps.createNamespacedDeployment({ namespace: ns, body: deployment(name, `registry.invalid/${name}:1`) as V1Deployment });
  await k.apply(canary(name, {}));
}

describe('Flagger blue/green (kubernetes provider)', () => {
  it('initializes (creates <name>-primary) and promotes an image change to Succeeded', async () => {
    await initialized('promo');
    await eventually('Canary Initialized', readCanary('promo'), phase('Initialized'), 90_000);
    const primary = await k.apps.readNamespacedDeployment({ name: 'promo-primary', namespace: ns });
    expect(primary.spec?.template.spec?.containers[0]?.image).toBe('registry.invalid/promo:1');
    expect(primary.status?.availableReplicas).toBe(2);
    const services = (await k.core.listNamespacedService({ namespace: ns })).items.map((s) => s.metadata?.name);
    expect(services).toEqual(expect.arrayContaining(['promo', 'promo-primary', 'promo-canary']));
    expect((await k.apps.readNamespacedDeployment({ name: 'promo', namespace: ns })).spec?.replicas).toBe(0);

    await changeImage('promo', 'registry.invalid/promo:2');
    await eventually('Canary Progressing', readCanary('promo'), (c) => ['Progressing', 'Promoting', 'Finalising', 'Succeeded'].includes(c.status?.phase ?? ''), 60_000);
    await eventually('Canary Succeeded', readCanary('promo'), phase('Succeeded'), 120_000);
    expect(await image('promo-primary')).toBe('registry.invalid/promo:2');
  }, 240_000);

  it('rolls back and ends Failed when a MetricTemplate on the local Prometheus reports failing data', async () => {
    await k.apply({
      apiVersion: 'flagger.app/v1beta1',
      kind: 'MetricTemplate',
      metadata: { name: 'success-rate', namespace: ns },
      spec: {
        provider: { type: 'prometheus', address: k.cluster.prometheusUrl },
        query: 'min(appserving_test_success_rate{namespace="{{ namespace }}", app="{{ target }}"})',
      },
    });
    await k.apps.createNamespacedDeployment({ namespace: ns, body: deployment('rollback', 'registry.invalid/rollback:1') as V1Deployment });
    await k.apply(
      canary('rollback', {
        metrics: [{ name: 'success-rate', templateRef: { name: 'success-rate', namespace: ns }, thresholdRange: { min: 99 }, interval: '1m' }],
      }),
    );
    await eventually('Canary Initialized', readCanary('rollback'), phase('Initialized'), 90_000);

    // The new version "answers" 0 % success; the query sees it for five minutes (Prometheus' lookback).
    await remoteWrite(k.cluster.prometheusUrl, [
      { labels: { __name__: 'appserving_test_success_rate', namespace: ns, app: 'rollback' }, samples: [{ value: 0 }] },
    ]);
    await changeImage('rollback', 'registry.invalid/rollback:2');

    const failed = await eventually('Canary Failed', readCanary('rollback'), phase('Failed'), 150_000);
    expect(failed.status?.failedChecks).toBeGreaterThanOrEqual(2);
    expect(await image('rollback-primary')).toBe('registry.invalid/rollback:1');
    expect((await k.apps.readNamespacedDeployment({ name: 'rollback', namespace: ns })).spec?.replicas).toBe(0);
    const messages = (await k.core.listNamespacedEvent({ namespace: ns, fieldSelector: 'involvedObject.kind=Canary,involvedObject.name=rollback' })).items.map((e) => e.message ?? '');
    expect(messages.some((m) => /advancement success-rate 0\.00 < 99/.test(m))).toBe(true);
    expect(messages.some((m) => /Rolling back rollback\./.test(m))).toBe(true);
  }, 300_000);
});
