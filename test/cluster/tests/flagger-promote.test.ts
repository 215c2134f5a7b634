// Real Flagger (kubernetes provider, blue/green) against the local control plane.
// Pod readiness comes from kwok; Flagger judges it from Deployment status computed by the real controller manager.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { changeImage, createTarget, canary, image, phase, readCanary } from './flagger-helpers.ts';
import { createNamespace, deleteNamespace, eventually, kube } from './helpers.ts';

const k = kube();
let ns: string;

beforeAll(async () => {
  ns = await createNamespace(k, 'flagger-promote');
});
afterAll(async () => {
  await deleteNamespace(k, ns);
});

describe('Flagger blue/green (kubernetes provider)', () => {
  it('initializes (creates <name>-primary) and promotes an image change to Succeeded', async () => {
    await createTarget(k, ns, 'promo');
    await k.apply(canary(ns, 'promo', {}));
    await eventually('Canary Initialized', readCanary(k, ns, 'promo'), phase('Initialized'), 90_000);
    const primary = await k.apps.readNamespacedDeployment({ name: 'promo-primary', namespace: ns });
    expect(primary.spec?.template.spec?.containers[0]?.image).toBe('registry.invalid/promo:1');
    expect(primary.status?.availableReplicas).toBe(2);
    const services = (await k.core.listNamespacedService({ namespace: ns })).items.map((s) => s.metadata?.name);
    expect(services).toEqual(expect.arrayContaining(['promo', 'promo-primary', 'promo-canary']));
    expect((await k.apps.readNamespacedDeployment({ name: 'promo', namespace: ns })).spec?.replicas).toBe(0);

    await changeImage(k, ns, 'promo', 'registry.invalid/promo:2');
    await eventually('Canary Progressing', readCanary(k, ns, 'promo'), (c) => ['Progressing', 'Promoting', 'Finalising', 'Succeeded'].includes(c.status?.phase ?? ''), 60_000);
    await eventually('Canary Succeeded', readCanary(k, ns, 'promo'), phase('Succeeded'), 120_000);
    expect(await image(k, ns, 'promo-primary')).toBe('registry.invalid/promo:2');
  }, 240_000);

});
