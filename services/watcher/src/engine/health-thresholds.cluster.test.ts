// Health thresholds on real Prometheus data: the gateway's request series of an app's Service, written to the local
// cluster's Prometheus (remote write) as Traefik labels them, turn the live app `degraded` when its error ratio and
// p95 latency cross the thresholds it was created with, and `running` again once the window holds only good answers.
import { DeployStepV1, type ReleaseRefV1 } from '@appserving/shared';
import { remoteWrite } from '@appserving/test-cluster';
import type {} from '@appserving/test-cluster/global-setup';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { chartDeployment, startWatcherClusterEnv, waitStatus, type WatcherClusterEnv } from '../testing/cluster-fixture.ts';
import { waitFor } from '../testing/harness.ts';

const cluster = inject('appservingCluster');
let env: WatcherClusterEnv;

beforeAll(async () => {
  env = await startWatcherClusterEnv(cluster, { prefix: 'thresholds', env: { APPSERVING_WATCHER_HEALTH_CHECK_INTERVAL_MS: '1000' } });
}, 120_000);

afterAll(async () => {
  await env?.close();
}, 60_000);

interface HealthData {
  status: string;
  previous_status: string;
  reason: string;
  available_pods: number;
  desired_pods: number;
  thresholds?: { window: string; checks: { threshold: string; limit: number; value: number | null; crossed: boolean }[] };
}

/**
 * Traefik's counters of one Service, as cumulative totals: each call adds `perSecond` of each kind for `seconds` and
 * gives the samples to write at `atMs`.
 */
function gatewayCounters(service: string) {
  const totals = new Map<string, number>();
  const add = (key: string, n: number) => {
    const total = (totals.get(key) ?? 0) + n;
    totals.set(key, total);
    return total;
  };
  return (atMs: number, seconds: number, perSecond: { ok: number; errors: number; fast: number }) => {
    const all = perSecond.ok + perSecond.errors;
    const sample = (labels: Record<string, string>, value: number) => ({ labels: { service, ...labels }, samples: [{ value, timestampMs: atMs }] });
    return [
      sample({ __name__: 'traefik_service_requests_total', code: '200' }, add('200', perSecond.ok * seconds)),
      sample({ __name__: 'traefik_service_requests_total', code: '500' }, add('500', perSecond.errors * seconds)),
      // Buckets: `fast` answers under 100 ms, the rest under 1 s.
      sample({ __name__: 'traefik_service_request_duration_seconds_bucket', le: '0.1' }, add('fast', perSecond.fast * seconds)),
      sample({ __name__: 'traefik_service_request_duration_seconds_bucket', le: '1' }, add('sub1s', all * seconds)),
      sample({ __name__: 'traefik_service_request_duration_seconds_bucket', le: '+Inf' }, add('inf', all * seconds)),
    ];
  };
}

describe('health thresholds', () => {
  it('an app crossing its error ratio and p95 latency thresholds is degraded, naming both with their values, and running again when they recover', async () => {
    const name = 'thresholded';
    const thresholds = { max_error_ratio: 0.1, max_latency_p95_ms: 500, window: '30s' };
    const created = await env.h.call('POST', '/apps', {
      name,
      project: env.project,
      task_type: 'deploy',
      image_url: `${cluster.registryHost}/${name}:v1`,
      port: 8080,
      replicas: 1,
      health_thresholds: thresholds,
    });
    expect(created.status).toBe(202);
    const ref: ReleaseRefV1 = { app_id: created.body.app.id, app_name: name, release_id: created.body.release.id, version: 1, cluster_id: created.body.app.cluster.id };
    const app = async () => (await env.h.call('GET', `/apps/${ref.app_id}`)).body as { status: string; health_reason: string | null; current_release: { spec: { health_thresholds?: unknown } } };
    expect((await app()).current_release.spec.health_thresholds).toEqual(thresholds);

    await waitStatus(env, ref, 'deploying');
    await env.kube.apply(chartDeployment(env.namespace, ref, { replicas: 1 }));
    await env.h.publish(DeployStepV1, `${ref.release_id}.deploy.applied`, ref.app_id, { release: ref, step: 'applied', helm_revision: 1 });
    await waitStatus(env, ref, 'succeeded');
    expect(await app()).toMatchObject({ status: 'running', health_reason: null });

    const health = new Map<string, HealthData>();
    const subscription = env.gw.nc.subscribe(`appserving.evt.app.health.${ref.app_id}`, {
      callback: (_error, message) => {
        const event = message.json<{ id: string; type: string; data: HealthData }>();
        if (event.type === 'dev.appserving.app.health.v1') health.set(event.id, event.data);
      },
    });

    // 30 s of traffic: 4 good and 1 failing request a second (error ratio 0.2), one in five under 100 ms and the rest
    // under 1 s (p95 interpolated in the 0.1–1 s bucket: 944 ms).
    const counters = gatewayCounters(`${env.namespace}-${name}-http-8080@kubernetesgateway`);
    const start = Date.now() - 30_000;
    const bad = [0, 5, 10, 15, 20, 25, 30].flatMap((s, i) => counters(start + s * 1000, i === 0 ? 0 : 5, { ok: 4, errors: 1, fast: 1 }));
    await remoteWrite(cluster.prometheusUrl, bad);
    await waitFor('degraded', async () => ((await app()).status === 'degraded' ? true : undefined), 30_000);
    const degraded = await app();
    expect(degraded.health_reason).toBe('error ratio 0.2 is above max_error_ratio 0.1 and p95 latency 944 ms is above max_latency_p95_ms 500 (version v1, over 30s)');

    // From now on only good, fast answers: once the 30 s window has passed the failures, the app is whole again.
    let last = Date.now();
    const recovered = waitFor('running again', async () => ((await app()).status === 'running' ? true : undefined), 90_000, 500);
    let done = false;
    void recovered.finally(() => (done = true)).catch(() => {});
    while (!done) {
      await new Promise((resolve) => setTimeout(resolve, 2_500));
      const now = Date.now();
      await remoteWrite(cluster.prometheusUrl, counters(now, (now - last) / 1000, { ok: 5, errors: 0, fast: 5 }));
      last = now;
    }
    await recovered;
    expect((await app()).health_reason).toBeNull();

    await waitFor('two health events', async () => (health.size >= 2 ? true : undefined), 10_000, 100);
    subscription.unsubscribe();
    const [down, up] = [...health.values()];
    expect(down).toEqual({
      release: expect.objectContaining({ release_id: ref.release_id }),
      status: 'degraded',
      previous_status: 'running',
      available_pods: 1,
      desired_pods: 1,
      reason: degraded.health_reason,
      thresholds: {
        window: '30s',
        checks: [
          { threshold: 'max_error_ratio', limit: 0.1, value: expect.closeTo(0.2, 6), crossed: true },
          { threshold: 'max_latency_p95_ms', limit: 500, value: expect.closeTo(943.75, 3), crossed: true },
        ],
      },
    });
    expect(up).toMatchObject({ status: 'running', previous_status: 'degraded', reason: expect.stringMatching(/^all 1 pods of version v1 are available again; error ratio 0 is within max_error_ratio 0\.1 and p95 latency 95 ms is within max_latency_p95_ms 500 \(over 30s\)$/) });
    // The timeline keeps both, once each.
    const { body: timeline } = await env.h.call('GET', `/apps/${ref.app_id}/timeline`);
    const entries = (timeline.items as { event_id: string; type: string }[]).filter((e) => e.type === 'dev.appserving.app.health.v1');
    expect(entries.map((e) => e.event_id).sort()).toEqual([...health.keys()].sort());
  }, 240_000);
});
