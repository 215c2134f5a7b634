// GET /apps/{id}/logs over real HTTP and a real NATS server: the gateway asks whoever answers the logs subject in
// queue group `watcher` (here the test plays the watcher; the real one is tested in the watcher's cluster tests).
import { randomUUID } from 'node:crypto';
import { rpcs, type PodLogsRequestV1 } from '@appserving/shared';
import type { Subscription } from '@nats-io/nats-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createApiToken } from '../auth/api-tokens.ts';
import { startTestGateway, type TestGateway } from '../testing/test-gateway.ts';

let gateway: TestGateway;
let appId: string;
let subscription: Subscription | undefined;
const asked: PodLogsRequestV1[] = [];

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
  return { status: response.status, body: text ? JSON.parse(text) : undefined };
}

/** Answers the logs subject as the watcher does (queue group `watcher`). */
function watcherAnswers(answer: (request: PodLogsRequestV1) => unknown): void {
  subscription = gateway.nc.subscribe(rpcs.podLogs.subject, {
    queue: 'watcher',
    callback: (_error, msg) => {
      const request = msg.json<PodLogsRequestV1>();
      asked.push(request);
      msg.respond(JSON.stringify(answer(request)));
    },
  });
}

describe('GET /apps/{id}/logs', () => {
  it('answers 503 logs_unavailable, naming the watcher, when no watcher runs', async () => {
    const { status, body } = await call('GET', `/apps/${appId}/logs`);
    expect(status).toBe(503);
    expect(body.error.code).toBe('logs_unavailable');
    expect(body.error.message).toMatch(/no watcher is running/);
  });

  it('passes tail, previous and the release to the watcher and returns its pods', async () => {
    const pods = [{ name: 'orders-6d9f-abcde', release_id: null, phase: 'Running', container: 'app', lines: ['Started OrdersApplication in 2.1 seconds'] }];
    watcherAnswers(() => ({ ok: true, data: { pods } }));
    await gateway.nc.flush();
    const { status, body } = await call('GET', `/apps/${appId}/logs?tail=20&previous=true&release=v1`);
    expect(status).toBe(200);
    expect(body).toEqual({ app_id: appId, release: 'v1', previous: true, pods });
    expect(asked).toHaveLength(1);
    expect(asked[0]).toMatchObject({ app_id: appId, tail_lines: 20, previous: true, release_id: expect.any(String) });
    const latest = await call('GET', `/apps/${appId}/logs`);
    expect(latest.body).toMatchObject({ release: null, previous: false });
    expect(asked[1]).toEqual({ app_id: appId, tail_lines: 100, previous: false });
  });

  it('maps the watcher\'s errors: a missing app is 404, a cluster problem 503', async () => {
    watcherAnswers((request) =>
      request.tail_lines === 1 ? { ok: false, error: { code: 'app_not_found', message: 'no app' } } : { ok: false, error: { code: 'cluster_not_found', message: 'cluster x is not registered' } },
    );
    await gateway.nc.flush();
    expect((await call('GET', `/apps/${appId}/logs?tail=1`)).status).toBe(404);
    const unavailable = await call('GET', `/apps/${appId}/logs?tail=2`);
    expect(unavailable.status).toBe(503);
    expect(unavailable.body.error).toEqual({ code: 'cluster_not_found', message: 'the watcher could not read the logs: cluster x is not registered' });
  });

  it('refuses bad parameters, unknown apps and releases, and apps of other projects, without asking the watcher', async () => {
    watcherAnswers(() => ({ ok: true, data: { pods: [] } }));
    await gateway.nc.flush();
    for (const [query, field] of [['tail=0', 'tail'], ['tail=5001', 'tail'], ['tail=abc', 'tail'], ['previous=yes', 'previous'], ['follow=true', 'follow']] as const) {
      const { status, body } = await call('GET', `/apps/${appId}/logs?${query}`);
      expect(status, query).toBe(400);
      expect(JSON.stringify(body), query).toContain(field);
    }
    expect((await call('GET', `/apps/${randomUUID()}/logs`)).body.error.code).toBe('app_not_found');
    expect((await call('GET', `/apps/${appId}/logs?release=v9`)).body.error.code).toBe('release_not_found');
    const other = await call('POST', '/projects', { name: 'other-team', cluster_id: gateway.clusterId, namespace: 'other-team' });
    const scoped = await createApiToken(gateway.database.db, { name: 'other team', admin: false, projectIds: [other.body.id] });
    expect((await call('GET', `/apps/${appId}/logs`, undefined, scoped.token)).status).toBe(404);
    expect(asked).toHaveLength(0);
  });
});
