// Rolling, canary and blue/green releases followed by the watcher to their terminal status on the local cluster,
// with real Flagger moving traffic and judging metrics the test writes into the real Prometheus.
import type { ReleaseRefV1 } from '@appserving/shared';
import { remoteWrite } from '@appserving/test-cluster';
import type {} from '@appserving/test-cluster/global-setup';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { applied, chartDeployment, createDeployRelease, openEventStream, releaseRow, startWatcherClusterEnv, updateRelease, waitStatus, type WatcherClusterEnv } from '../testing/cluster-fixture.ts';
import { firstProgressiveRelease, upgradeWorkload } from '../testing/flagger-fixture.ts';
import { startSimNode, type SimNode } from '../testing/sim-node.ts';

const cluster = inject('appservingCluster');
let env: WatcherClusterEnv;
let node: SimNode;

beforeAll(async () => {
  // Readiness keeps its default grace here, so a stuck rollout ends on Kubernetes' progress deadline.
  env = await startWatcherClusterEnv(cluster, { prefix: 'rollout', env: { APPSERVING_WATCHER_READINESS_GRACE_MS: '600000' } });
  node = await startSimNode(cluster);
}, 120_000);

afterAll(async () => {
  try {
    await env?.close();
  } finally {
    await node?.stop();
  }
}, 60_000);

const db = () => env.gw.database.db;
const successRate = (ref: ReleaseRefV1, value: number) =>
  remoteWrite(cluster.prometheusUrl, [{ labels: { __name__: 'appserving_watcher_test_success_rate', namespace: env.namespace, app: ref.app_name }, samples: [{ value }] }]);

describe.concurrent('rollouts to their terminal status', () => {
  it('rolling: each release succeeds when its pods are all new and available; the newer supersedes the older', async () => {
    const r1 = await createDeployRelease(env, { name: 'rolling' });
    await waitStatus(env, r1, 'deploying');
    await env.kube.apply(chartDeployment(env.namespace, r1));
    await applied(env, r1, 1);
    await waitStatus(env, r1, 'succeeded');
    const { body: app } = await env.h.call('GET', `/apps/${r1.app_id}`);
    expect(app).toMatchObject({ status: 'running', current_release: { id: r1.release_id, status: 'succeeded', status_reason: 'rollout complete: 2/2 pods available' } });

    const r2 = await updateRelease(env, r1, 'v2');
    await waitStatus(env, r2, 'deploying');
    await env.kube.apply(chartDeployment(env.namespace, r2));
    await applied(env, r2, 2);
    const done = await waitStatus(env, r2, 'succeeded');
    expect(done.helm_revision).toBe(2);
    expect((await releaseRow(env, r1.release_id)).status).toBe('superseded');
    expect(await env.h.statusesOnceSeen(r2.release_id, 'succeeded')).toEqual(['deploying', 'progressing', 'succeeded']);
    expect(await env.h.statusesOnceSeen(r1.release_id, 'superseded')).toEqual(['deploying', 'progressing', 'succeeded', 'superseded']);
    const app2 = await db().selectFrom('apps').selectAll().where('id', '=', r1.app_id).executeTakeFirstOrThrow();
    expect(app2).toMatchObject({ status: 'running', current_release_id: r2.release_id });
    const ops = await db().selectFrom('operations').select(['release_id', 'status']).where('app_id', '=', r1.app_id).execute();
    expect(ops.every((o) => o.status === 'succeeded')).toBe(true);
  });

  it('rolling: a rollout that stops making progress fails on Kubernetes\' progress deadline', async () => {
    const ref = await createDeployRelease(env, { name: 'stuck' });
    const sse = await openEventStream(env, ref.app_id);
    await waitStatus(env, ref, 'deploying');
    await env.kube.apply(chartDeployment(env.namespace, ref, { behaviour: 'unready', placement: node.placement, progressDeadlineSeconds: 3 }));
    await applied(env, ref, 1);
    const row = await waitStatus(env, ref, 'failed', 90_000);
    expect(row.diagnosis).toMatchObject({ code: 'progress-deadline-exceeded', evidence: { deployment: 'stuck', desired_replicas: 2, available_replicas: 0 } });
    expect(row.status_reason).toBe('The rollout stopped making progress for 3 s: 0 of 2 new pods became available.');
    const event = await sse.until('failed', (e) => e.data?.data?.status === 'failed');
    expect(event.data.data.diagnosis.code).toBe('progress-deadline-exceeded');
    sse.close();
  });

  it('blue/green: Flagger initializes the first release, analyses and promotes the second; each step recorded', async () => {
    const r1 = await firstProgressiveRelease(env, 'bluegreen', 'blue-green');
    expect((await releaseRow(env, r1.release_id)).status_reason).toMatch(/^initialized: /);

    await successRate(r1, 100);
    const r2 = await updateRelease(env, r1, 'v2');
    await waitStatus(env, r2, 'deploying');
    await upgradeWorkload(env, r2, `registry.invalid/bluegreen:v2`);
    await applied(env, r2, 2);
    await waitStatus(env, r2, 'succeeded', 180_000);
    expect((await releaseRow(env, r1.release_id)).status).toBe('superseded');
    const steps = await db().selectFrom('canary_analysis').selectAll().where('release_id', '=', r2.release_id).orderBy('step').execute();
    expect(steps.length).toBeGreaterThanOrEqual(1);
    expect(steps[0]).toMatchObject({ step: 1, weight: 0, verdict: 'pass', failed_checks: 0 });
    expect(steps[0]!.metrics).toEqual([{ name: 'success-rate', value: 100, threshold_min: 99, verdict: 'pass' }]);
    const { body: timeline } = await env.h.call('GET', `/apps/${r2.app_id}/timeline`);
    const analysis = (timeline.items as { type: string; data: { step: number } }[]).filter((t) => t.type === 'dev.appserving.canary.analysis.v1');
    expect(analysis.map((t) => t.data.step)).toEqual(steps.map((s) => s.step));
    const statuses = await env.h.statusesOnceSeen(r2.release_id, 'succeeded');
    expect(statuses[0]).toBe('deploying');
    expect(statuses).toContain('progressing');
    expect(statuses.at(-1)).toBe('succeeded');
  }, 300_000);

  it('canary: Flagger shifts traffic by weight; the watcher follows the weight and ends succeeded', async () => {
    const r1 = await firstProgressiveRelease(env, 'canary', 'canary');

    await successRate(r1, 100);
    const r2 = await updateRelease(env, r1, 'v2');
    await waitStatus(env, r2, 'deploying');
    await upgradeWorkload(env, r2, `registry.invalid/canary:v2`);
    await applied(env, r2, 2);
    await waitStatus(env, r2, 'succeeded', 180_000);
    await env.h.statusesOnceSeen(r2.release_id, 'succeeded');
    const weights = env.h.statusEvents.filter((e) => e.data.release.release_id === r2.release_id && e.data.canary_weight !== undefined).map((e) => e.data.canary_weight);
    expect(weights).toContain(50);
    const steps = await db().selectFrom('canary_analysis').select(['step', 'weight', 'verdict']).where('release_id', '=', r2.release_id).orderBy('step').execute();
    expect(steps.some((s) => s.weight === 50 && s.verdict === 'pass')).toBe(true);
    expect((await db().selectFrom('releases').select('canary_weight').where('id', '=', r2.release_id).executeTakeFirstOrThrow()).canary_weight).toBeNull();
  }, 300_000);

  it('canary analysis failed: which metric, its value against the threshold, in GET /apps/{id} and SSE', async () => {
    const r1 = await firstProgressiveRelease(env, 'badcanary', 'blue-green');

    await successRate(r1, 0);
    const r2 = await updateRelease(env, r1, 'v2');
    const sse = await openEventStream(env, r1.app_id);
    await waitStatus(env, r2, 'deploying');
    await upgradeWorkload(env, r2, `registry.invalid/badcanary:v2`);
    await applied(env, r2, 2);
    const event = await sse.until('failed', (e) => e.data?.data?.status === 'failed', 240_000);
    sse.close();
    const { body: app } = await env.h.call('GET', `/apps/${r1.app_id}`);
    const d = app.current_release.diagnosis;
    expect(d).toEqual(event.data.data.diagnosis);
    expect(d.code).toBe('canary-analysis-failed');
    expect(d.summary).toBe('The canary analysis failed: metric success-rate was 0, below the minimum of 99, 2 failed checks. Traffic went back to the previous version.');
    expect(d.evidence).toMatchObject({ failed_checks: 2, threshold: 2, metric: { name: 'success-rate', value: 0, threshold_min: 99, verdict: 'fail' } });
    expect(d.evidence.flagger_events).toEqual(expect.arrayContaining([expect.stringMatching(/advancement success-rate 0\.00 < 99/)]));
    // The previous release still serves.
    expect(app.status).toBe('running');
    expect((await releaseRow(env, r1.release_id)).status).toBe('succeeded');
    const steps = await db().selectFrom('canary_analysis').select(['verdict', 'failed_checks']).where('release_id', '=', r2.release_id).orderBy('step').execute();
    expect(steps.filter((s) => s.verdict === 'fail').length).toBeGreaterThanOrEqual(1);
  }, 300_000);
});
