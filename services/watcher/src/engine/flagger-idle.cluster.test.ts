// A canary or blue/green release Flagger does not act on fails within minutes, saying so, instead of waiting
// for its 20-minute progressing deadline. The shared local cluster runs Flagger for every namespace, so the case
// it can show for real is a suspended Canary (Flagger skips it: scheduler.go, `skipping canary run`); a Canary
// nobody answers at all (no Flagger, or one that does not watch the namespace) is the unit tests' part.
import type { ReleaseRefV1 } from '@appserving/shared';
import type {} from '@appserving/test-cluster/global-setup';
import type { KubernetesObject } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { applied, chartDeployment, createDeployRelease, openEventStream, startWatcherClusterEnv, updateRelease, waitStatus, type WatcherClusterEnv } from '../testing/cluster-fixture.ts';
import { chartCanary, chartMetricTemplate, firstProgressiveRelease, upgradeWorkload } from '../testing/flagger-fixture.ts';

const cluster = inject('appservingCluster');
let env: WatcherClusterEnv;

beforeAll(async () => {
  // Flagger gets max(5 s, 3 analysis intervals of 2 s) to act on an applied release.
  env = await startWatcherClusterEnv(cluster, { prefix: 'flagger-idle', env: { APPSERVING_WATCHER_FLAGGER_PICKUP_DEADLINE_MS: '5000' } });
}, 120_000);

afterAll(async () => {
  await env?.close();
}, 60_000);

const db = () => env.gw.database.db;
const suspendedCanary = (ref: ReleaseRefV1, strategy: 'canary' | 'blue-green') => {
  const canary = chartCanary(env, ref, strategy, { interval: '2s' }) as KubernetesObject & { spec: Record<string, unknown> };
  canary.spec.suspend = true;
  return canary;
};

describe.concurrent('Flagger not acting on a release', () => {
  it('a first release whose Canary is suspended fails in seconds, naming the Canary, in GET /apps/{id} and the SSE stream', async () => {
    const ref = await createDeployRelease(env, { name: 'suspended', strategy: 'blue-green' });
    const sse = await openEventStream(env, ref.app_id);
    await waitStatus(env, ref, 'deploying');
    await env.kube.apply(chartDeployment(env.namespace, ref));
    await env.kube.apply(chartMetricTemplate(env, ref));
    await env.kube.apply(suspendedCanary(ref, 'blue-green'));
    await applied(env, ref, 1);
    const appliedAt = Date.now();
    const row = await waitStatus(env, ref, 'failed', 60_000);
    // Not before the pickup time: Flagger had its chance.
    expect(Date.now() - appliedAt).toBeGreaterThanOrEqual(5_000);
    expect(row.diagnosis).toMatchObject({
      code: 'flagger-not-acting',
      evidence: { canary: 'suspended', namespace: env.namespace, suspended: true, canary_phase: 'Initializing' },
    });
    expect(row.status_reason).toBe(`Flagger does not analyse the release: its Canary ${env.namespace}/suspended is suspended.`);
    const { body: app } = await env.h.call('GET', `/apps/${ref.app_id}`);
    expect(app.current_release).toMatchObject({ status: 'failed', diagnosis: { code: 'flagger-not-acting' } });
    const event = await sse.until('failed', (e) => e.data?.data?.status === 'failed');
    expect(event.data.data.diagnosis).toMatchObject({ code: 'flagger-not-acting', hint: expect.stringMatching(/"suspend":false/) });
    sse.close();
  });

  it('a later release is not taken for Flagger\'s answer to an earlier one: suspended after the first, the second fails', async () => {
    const r1 = await firstProgressiveRelease(env, 'paused', 'canary');

    await env.kube.apply(suspendedCanary(r1, 'canary'));
    const r2 = await updateRelease(env, r1, 'v2');
    await waitStatus(env, r2, 'deploying');
    await upgradeWorkload(env, r2, 'registry.invalid/paused:v2');
    await applied(env, r2, 2);
    const row = await waitStatus(env, r2, 'failed', 60_000);
    expect(row.diagnosis).toMatchObject({ code: 'flagger-not-acting', evidence: { canary: 'paused', suspended: true, canary_phase: 'Initialized' } });
    // The first release stays the live one.
    const app = await db().selectFrom('apps').selectAll().where('id', '=', r1.app_id).executeTakeFirstOrThrow();
    expect(app.current_release_id).toBe(r1.release_id);
  });
});
