// GET /apps/{id}/metrics over real HTTP and a real NATS server: the gateway checks the range and the app's visibility,
// then asks whoever answers the metrics subject in queue group `watcher` (here the test plays the watcher; the real
// one, with the real Prometheus of the real node, is tested in test/e2e/metrics.cluster.test.ts).
import { randomUUID } from 'node:crypto';
import { rpcs, type AppMetricsRequestV1, type AppMetricsV1 } from '@appserving/shared';
import type { Subscription } from '@nats-io/nats-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createApiToken } from '../auth/api-tokens.ts';
import { startTestGateway, type TestGateway } from '../testing/test-gateway.ts';

let gateway: TestGateway;
let appId: string;
let subscription: Subscription | undefined;
const asked: AppMetricsRequestV1[] = [];

beforeAll(async () => {
  gateway = await startTestGateway();
  const created = await call('POST', '/apps', { name: 'orders', task_type: 'deploy', image_url: 'registry.example/orders:v1', port: 8080, resource_spec: 'small', version: 'v1' });
  expect(created.status).toBe(202);
  appId = created.body.app.id;
});

afterEach(() => {
  subscription?.unsubscribe();
  subscription = undefined;
  asked.length = 0;
});

afterAll(async () => {
  await gateway?.close();
});

async function call(method: string, path: string, body?: unknown, token = gateway.adminToken) {
  const response = await fetch(`${gateway.base}${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  return { status: response.status, headers: response.headers, body: text ? JSON.parse(text) : undefined };
}

function watcherAnswers(answer: (request: AppMetricsRequestV1) => unknown): void {
  subscription = gateway.nc.subscribe(rpcs.appMetrics.subject, {
    queue: 'watcher',
    callback: (_error, msg) => {
      const request = msg.json<AppMetricsRequestV1>();
      asked.push(request);
      msg.respond(JSON.stringify(answer(request)));
    },
  });
}

const release = { id: randomUUID(), version: 'v1' };
const answerOf = (request: AppMetricsRequestV1): AppMetricsV1 => ({
  app_id: request.app_id,
  start: new Date(request.start * 1000).toISOString(),
  end: new Date(request.end * 1000).toISOString(),
  step_seconds: request.step_seconds,
  tracks: [{ track: 'stable', release }],
  series: [{ metric: 'requests_per_second', track: 'stable', unit: 'requests/s', points: [[request.start, 1.5], [request.end, 2]] }],
  pods: [{ name: 'orders-6d9f-abcde', track: 'stable', release, phase: 'Running', ready: true, restarts: 0 }],
  markers: [{ release, at: new Date(request.start * 1000).toISOString(), kind: 'deployed' }],
  missing: [{ metric: 'restarts', reason: 'no kube-state-metrics series in the Prometheus of cluster local (kube_pod_status_ready)' }],
});

describe('GET /apps/{id}/metrics', () => {
  it('answers 503 metrics_unavailable, naming the watcher, when no watcher runs', async () => {
    const { status, body } = await call('GET', `/apps/${appId}/metrics`);
    expect(status).toBe(503);
    expect(body.error).toMatchObject({ code: 'metrics_unavailable', message: expect.stringMatching(/no watcher is running/), details: { missing: 'watcher' } });
  });

  it('asks the watcher for the last hour at 30 s by default, or the range and step given, and returns its answer as is', async () => {
    watcherAnswers((request) => ({ ok: true, data: answerOf(request) }));
    await gateway.nc.flush();
    const before = Math.floor(Date.now() / 1000);
    const { status, body } = await call('GET', `/apps/${appId}/metrics`);
    expect(status, JSON.stringify(body)).toBe(200);
    expect(asked[0]).toMatchObject({ app_id: appId, step_seconds: 30 });
    expect((asked[0]?.end ?? 0) - (asked[0]?.start ?? 0)).toBe(3_600);
    expect(asked[0]?.end).toBeGreaterThanOrEqual(before);
    expect(body).toEqual(answerOf(asked[0] as AppMetricsRequestV1));
    await call('GET', `/apps/${appId}/metrics?range=15m&step=5s`);
    expect(asked[1]).toMatchObject({ step_seconds: 5 });
    expect((asked[1]?.end ?? 0) - (asked[1]?.start ?? 0)).toBe(900);
    await call('GET', `/apps/${appId}/metrics?range=7d`);
    expect(asked[2]).toMatchObject({ step_seconds: 5_040 });
  });

  it('passes on a cluster without Prometheus as 503 naming prometheus_url (no Retry-After: it will not come back by itself)', async () => {
    watcherAnswers(() => ({
      ok: false,
      error: { code: 'metrics_unavailable', message: 'cluster lab has no Prometheus registered (prometheus_url)', details: { cluster: 'lab', missing: 'prometheus_url' } },
    }));
    await gateway.nc.flush();
    const { status, headers, body } = await call('GET', `/apps/${appId}/metrics`);
    expect(status).toBe(503);
    expect(body.error).toEqual({ code: 'metrics_unavailable', message: 'cluster lab has no Prometheus registered (prometheus_url)', details: { cluster: 'lab', missing: 'prometheus_url' } });
    expect(headers.get('retry-after')).toBeNull();
  });

  it('refuses bad ranges and steps (too many points named), unknown apps and apps of other projects, without asking the watcher', async () => {
    watcherAnswers((request) => ({ ok: true, data: answerOf(request) }));
    await gateway.nc.flush();
    for (const [query, words] of [
      ['range=30s', 'range must be from 1m to 7d'],
      ['range=8d', 'range must be from 1m to 7d'],
      ['range=1y', 'range'],
      ['step=abc', 'step'],
      ['step=1s', 'step must be at least 5s'],
      ['range=2h&step=5s', '1441 points per series, more than 1000'],
      ['range=1h&step=2h', 'must not be longer than range'],
      ['since=1h', 'since'],
    ] as const) {
      const { status, body } = await call('GET', `/apps/${appId}/metrics?${query}`);
      expect(status, query).toBe(400);
      expect(JSON.stringify(body), query).toContain(words);
    }
    expect((await call('GET', `/apps/${randomUUID()}/metrics`)).body.error.code).toBe('app_not_found');
    const other = await call('POST', '/projects', { name: 'other-team', cluster_id: gateway.clusterId, namespace: 'other-team' });
    const scoped = await createApiToken(gateway.database.db, { name: 'other team', admin: false, projectIds: [other.body.id] });
    expect((await call('GET', `/apps/${appId}/metrics`, undefined, scoped.token)).status).toBe(404);
    expect(asked).toHaveLength(0);
  });
});
