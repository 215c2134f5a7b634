import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestGateway, type TestGateway } from '../testing/test-gateway.ts';

// health_thresholds over HTTP: accepted on POST and PATCH /apps, kept in the release spec across updates, returned by
// GET /apps/{id}, refused with the field named when out of range; and the watcher's reason shown while degraded.
let gateway: TestGateway;

beforeAll(async () => {
  gateway = await startTestGateway();
});

afterAll(async () => {
  await gateway?.close();
});

async function call(method: string, path: string, body?: unknown) {
  const response = await fetch(`${gateway.base}${path}`, {
    method,
    headers: { authorization: `Bearer ${gateway.adminToken}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  return { status: response.status, body: text ? JSON.parse(text) : undefined };
}

const app = (name: string, extra: Record<string, unknown> = {}) => ({ name, task_type: 'deploy', image_url: `registry.example.com/team/${name}:1`, ...extra });

/** What the builder, deployer and watcher would leave: the release live, the app running. */
async function finish(appId: string) {
  const db = gateway.database.db;
  await db.updateTable('operations').set({ status: 'succeeded', finished_at: new Date() }).where('app_id', '=', appId).where('status', 'in', ['pending', 'running']).execute();
  const latest = await db.selectFrom('releases').select('id').where('app_id', '=', appId).orderBy('version', 'desc').limit(1).executeTakeFirstOrThrow();
  await db.updateTable('releases').set({ status: 'succeeded', finished_at: new Date() }).where('id', '=', latest.id).execute();
  await db.updateTable('apps').set({ status: 'running', current_release_id: latest.id }).where('id', '=', appId).execute();
}

describe('health_thresholds', () => {
  it('are kept in the release spec from POST, returned by GET, kept by a PATCH that leaves them out, replaced or turned off by one that sets them', async () => {
    const thresholds = { max_error_ratio: 0.05, max_latency_p95_ms: 750, window: '2m' };
    const created = await call('POST', '/apps', app('guarded', { health_thresholds: thresholds }));
    expect(created.status).toBe(202);
    expect(created.body.release.spec.health_thresholds).toEqual(thresholds);
    const id = created.body.app.id as string;
    const got = await call('GET', `/apps/${id}`);
    expect(got.body).toMatchObject({ status: 'pending', health_reason: null, current_release: { spec: { health_thresholds: thresholds } } });

    await finish(id);
    const kept = await call('PATCH', `/apps/${id}`, { task_type: 'deploy', replicas: 2 });
    expect(kept.status).toBe(202);
    expect(kept.body.release.spec).toMatchObject({ replicas: 2, health_thresholds: thresholds });

    await finish(id);
    const replaced = await call('PATCH', `/apps/${id}`, { task_type: 'deploy', health_thresholds: { max_error_ratio: 0.2 } });
    expect(replaced.body.release.spec).toMatchObject({ replicas: 2, health_thresholds: { max_error_ratio: 0.2 } });

    await finish(id);
    const off = await call('PATCH', `/apps/${id}`, { task_type: 'deploy', health_thresholds: {} });
    expect(off.body.release.spec.health_thresholds).toEqual({});
    expect((await call('GET', `/apps/${id}`)).body.current_release.spec.health_thresholds).toEqual({});
  });

  it('an app made without them has none (off by default)', async () => {
    const created = await call('POST', '/apps', app('plain'));
    expect(created.status).toBe(202);
    expect(created.body.release.spec.health_thresholds).toBeUndefined();
  });

  it.each([
    ['an error ratio above 1', { max_error_ratio: 1.5 }, '/health_thresholds/max_error_ratio'],
    ['a negative error ratio', { max_error_ratio: -0.1 }, '/health_thresholds/max_error_ratio'],
    ['a latency of 0', { max_latency_p95_ms: 0 }, '/health_thresholds/max_latency_p95_ms'],
    ['a window that is no duration', { window: '5 minutes' }, '/health_thresholds/window'],
    ['a window shorter than 30s', { window: '10s' }, '/health_thresholds/window'],
    ['an unknown threshold', { max_cpu: 0.9 }, '/health_thresholds'],
  ])('refuses %s with 400, naming the field', async (_what, thresholds, path) => {
    const refused = await call('POST', '/apps', app('refused', { health_thresholds: thresholds }));
    expect(refused.status).toBe(400);
    expect(refused.body.error.code).toBe('invalid_request');
    expect(JSON.stringify(refused.body.error)).toContain(path);
  });

  it('GET /apps/{id} shows the watcher\'s reason while the app is degraded, and none once it is running', async () => {
    const created = await call('POST', '/apps', app('watched', { health_thresholds: { max_error_ratio: 0.1 } }));
    const id = created.body.app.id as string;
    await finish(id);
    const reason = 'error ratio 0.25 is above max_error_ratio 0.1 (version v1, over 5m)';
    await gateway.database.db.updateTable('apps').set({ status: 'degraded', health_reason: reason }).where('id', '=', id).execute();
    expect((await call('GET', `/apps/${id}`)).body).toMatchObject({ status: 'degraded', health_reason: reason });
    const listed = await call('GET', '/apps?name=watched');
    expect(listed.body.items[0]).toMatchObject({ status: 'degraded', health_reason: reason });
    await gateway.database.db.updateTable('apps').set({ status: 'running' }).where('id', '=', id).execute();
    expect((await call('GET', `/apps/${id}`)).body).toMatchObject({ status: 'running', health_reason: null });
  });
});
