// The promotion gate of a blue/green release (Flagger's confirm-promotion and rollback webhooks, answered here on
// 127.0.0.1 as the deployer's gate would), and the health of a live release.
import { createServer, type Server } from 'node:http';
import { DeployStepV1, LABELS, type ReleaseRefV1 } from '@appserving/shared';
import { remoteWrite } from '@appserving/test-cluster';
import type {} from '@appserving/test-cluster/global-setup';
import type { KubernetesObject } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { chartDeployment, createDeployRelease, releaseRow, startWatcherClusterEnv, updateRelease, waitStatus, type WatcherClusterEnv } from '../testing/cluster-fixture.ts';
import { chartCanary, chartMetricTemplate, upgradeWorkload } from '../testing/flagger-fixture.ts';
import { waitFor } from '../testing/harness.ts';

const cluster = inject('appservingCluster');
let env: WatcherClusterEnv;
let gate: Server;
let gatePort = 0;
/** What the gate answers Flagger: promotion allowed, rollback asked. */
const gateState = { promote: false, rollback: false };

beforeAll(async () => {
  env = await startWatcherClusterEnv(cluster, { prefix: 'gates' });
  gate = createServer((request, response) => {
    const open = request.url === '/confirm-promotion' ? gateState.promote : request.url === '/rollback' ? gateState.rollback : false;
    response.writeHead(open ? 200 : 403).end();
  });
  await new Promise<void>((resolve) => gate.listen(0, '127.0.0.1', resolve));
  gatePort = (gate.address() as { port: number }).port;
}, 120_000);

afterAll(async () => {
  await env?.close();
  await new Promise<void>((resolve) => (gate ? gate.close(() => resolve()) : resolve()));
}, 60_000);

const db = () => env.gw.database.db;
const step = (ref: ReleaseRefV1, name: 'applied' | 'promoted', revision?: number) =>
  env.h.publish(DeployStepV1, `${ref.release_id}.deploy.${name}`, ref.app_id, { release: ref, step: name, ...(revision ? { helm_revision: revision } : {}) });

describe.concurrent('gates and health', () => {
  it('blue/green with a promotion gate: waiting-promotion, promote, succeeded; then an abort ends the next release aborted', async () => {
    const r1 = await createDeployRelease(env, { name: 'gated', strategy: 'blue-green' });
    await waitStatus(env, r1, 'deploying');
    await env.kube.apply(chartDeployment(env.namespace, r1));
    await env.kube.apply(chartMetricTemplate(env, r1));
    const webhooks = [
      { name: 'appserving-confirm-promotion', type: 'confirm-promotion', url: `http://127.0.0.1:${gatePort}/confirm-promotion` },
      { name: 'appserving-rollback', type: 'rollback', url: `http://127.0.0.1:${gatePort}/rollback` },
    ];
    const canary = chartCanary(env, r1, 'blue-green') as KubernetesObject & { spec: { analysis: Record<string, unknown> } };
    canary.spec.analysis.webhooks = webhooks;
    await env.kube.apply(canary);
    await step(r1, 'applied', 1);
    await waitStatus(env, r1, 'succeeded', 120_000);
    await remoteWrite(cluster.prometheusUrl, [{ labels: { __name__: 'appserving_watcher_test_success_rate', namespace: env.namespace, app: 'gated' }, samples: [{ value: 100 }] }]);

    const r2 = await updateRelease(env, r1, 'v2');
    await waitStatus(env, r2, 'deploying');
    await upgradeWorkload(env, r2, 'registry.invalid/gated:v2');
    await step(r2, 'applied', 2);
    await waitStatus(env, r2, 'waiting-promotion', 150_000);
    const { body: waiting } = await env.h.call('GET', `/apps/${r2.app_id}`);
    expect(waiting.current_release.status_reason).toMatch(/waiting for promotion/);
    // POST /apps/{id}/promote reaches the deployer, which opens the gate and reports the step.
    expect((await env.h.call('POST', `/apps/${r2.app_id}/promote`)).status).toBe(202);
    gateState.promote = true;
    await step(r2, 'promoted');
    await waitStatus(env, r2, 'succeeded', 120_000);
    const r2Statuses = await env.h.statusesOnceSeen(r2.release_id, 'succeeded');
    expect(r2Statuses).toEqual(expect.arrayContaining(['waiting-promotion', 'promoting', 'succeeded']));
    expect(r2Statuses.indexOf('promoting')).toBeGreaterThan(r2Statuses.indexOf('waiting-promotion'));

    gateState.promote = false;
    const r3 = await updateRelease(env, r1, 'v3');
    await waitStatus(env, r3, 'deploying');
    await upgradeWorkload(env, r3, 'registry.invalid/gated:v3');
    await step(r3, 'applied', 3);
    await waitStatus(env, r3, 'waiting-promotion', 150_000);
    expect((await env.h.call('POST', `/apps/${r3.app_id}/abort`)).status).toBe(202);
    gateState.rollback = true;
    await waitStatus(env, r3, 'aborted', 120_000);
    const row = await releaseRow(env, r3.release_id);
    expect(row.status_reason).toMatch(/^aborted/);
    const app = await db().selectFrom('apps').selectAll().where('id', '=', r1.app_id).executeTakeFirstOrThrow();
    expect(app).toMatchObject({ status: 'running', current_release_id: r2.release_id });
  }, 420_000);

  it('the live release losing a pod makes the app degraded, and running again when it is back', async () => {
    const ref = await createDeployRelease(env, { name: 'healthy' });
    await waitStatus(env, ref, 'deploying');
    await env.kube.apply(chartDeployment(env.namespace, ref));
    await step(ref, 'applied', 1);
    await waitStatus(env, ref, 'succeeded');
    const appStatus = async () => (await db().selectFrom('apps').select('status').where('id', '=', ref.app_id).executeTakeFirstOrThrow()).status;
    expect(await appStatus()).toBe('running');
    // What a subscriber to the app's health hears (core NATS: kept once by CloudEvent id, as docs/messaging.md says).
    const health = new Map<string, { status: string; previous_status: string; available_pods: number; desired_pods: number; reason: string; release: { release_id: string } }>();
    const subscription = env.gw.nc.subscribe(`appserving.evt.app.health.${ref.app_id}`, {
      callback: (_error, message) => {
        const event = message.json<{ id: string; type: string; data: never }>();
        if (event.type === 'dev.appserving.app.health.v1') health.set(event.id, event.data);
      },
    });

    // One pod stops passing its readiness check, as its kubelet would report.
    const pods = await env.kube.core.listNamespacedPod({ namespace: env.namespace, labelSelector: `${LABELS.releaseId}=${ref.release_id}` });
    const pod = pods.items[0]!;
    const setReady = async (ready: boolean) => {
      const current = await env.kube.core.readNamespacedPod({ name: pod.metadata!.name!, namespace: env.namespace });
      const status = ready ? 'True' : 'False';
      current.status!.conditions = current.status!.conditions!.map((c) => (c.type === 'Ready' || c.type === 'ContainersReady' ? { ...c, status, lastTransitionTime: new Date() } : c));
      current.status!.containerStatuses = current.status!.containerStatuses!.map((c) => ({ ...c, ready }));
      await env.kube.core.replaceNamespacedPodStatus({ name: pod.metadata!.name!, namespace: env.namespace, body: current });
    };
    await setReady(false);
    await waitFor('degraded', async () => (await appStatus()) === 'degraded', 30_000);
    expect((await env.h.call('GET', `/apps/${ref.app_id}`)).body.status).toBe('degraded');
    await setReady(true);
    await waitFor('running again', async () => (await appStatus()) === 'running', 30_000);
    expect((await releaseRow(env, ref.release_id)).status).toBe('succeeded');
    await waitFor('two health events', async () => (health.size >= 2 ? true : undefined), 10_000, 100);
    subscription.unsubscribe();
    expect([...health.values()]).toEqual([
      { release: expect.objectContaining({ release_id: ref.release_id }), status: 'degraded', previous_status: 'running', available_pods: 1, desired_pods: 2, reason: '1 of 2 pods of version v1 are available' },
      { release: expect.objectContaining({ release_id: ref.release_id }), status: 'running', previous_status: 'degraded', available_pods: 2, desired_pods: 2, reason: 'all 2 pods of version v1 are available again' },
    ]);
    // And the app's timeline keeps both, once each.
    const { body: timeline } = await env.h.call('GET', `/apps/${ref.app_id}/timeline`);
    const entries = (timeline.items as { event_id: string; type: string }[]).filter((e) => e.type === 'dev.appserving.app.health.v1');
    expect(entries.map((e) => e.event_id).sort()).toEqual([...health.keys()].sort());
  });
});
