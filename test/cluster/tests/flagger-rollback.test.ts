// Real Flagger (kubernetes provider, blue/green) against the local control plane and the local Prometheus.
// Pod readiness comes from kwok; Flagger judges it from Deployment status computed by the real controller manager.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { remoteWrite } from '../src/index.ts';
import { changeImage, createTarget, canary, image, phase, readCanary } from './flagger-helpers.ts';
import { createNamespace, deleteNamespace, eventually, kube } from './helpers.ts';

const k = kube();
let ns: string;

beforeAll(async () => {
  ns = await createNamespace(k, 'flagger-rollback');
});
afterAll(async () => {
  await deleteNamespace(k, ns);
});

describe('Flagger blue/green (kubernetes provider)', () => {
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
    await createTarget(k, ns, 'rollback');
    await k.apply(
      canary(ns, 'rollback', {
        metrics: [{ name: 'success-rate', templateRef: { name: 'success-rate', namespace: ns }, thresholdRange: { min: 99 }, interval: '1m' }],
      }),
    );
    await eventually('Canary Initialized', readCanary(k, ns, 'rollback'), phase('Initialized'), 90_000);

    // The new version "answers" 0 % success; the query sees it for five minutes (Prometheus' lookback).
    await remoteWrite(k.cluster.prometheusUrl, [
      { labels: { __name__: 'appserving_test_success_rate', namespace: ns, app: 'rollback' }, samples: [{ value: 0 }] },
    ]);
    await changeImage(k, ns, 'rollback', 'registry.invalid/rollback:2');

    await eventually('Canary Failed', readCanary(k, ns, 'rollback'), phase('Failed'), 150_000);
    expect(await image(k, ns, 'rollback-primary')).toBe('registry.invalid/rollback:1');
    expect((await k.apps.readNamespacedDeployment({ name: 'rollback', namespace: ns })).spec?.replicas).toBe(0);
    const messages = (await k.core.listNamespacedEvent({ namespace: ns, fieldSelector: 'involvedObject.kind=Canary,involvedObject.name=rollback' })).items.map((e) => e.message ?? '');
    expect(messages.some((m) => /advancement success-rate 0\.00 < 99/.test(m))).toBe(true);
    expect(messages.some((m) => /Rolling back rollback\.\S+ failed checks threshold reached 2/.test(m))).toBe(true);
  }, 300_000);
});
