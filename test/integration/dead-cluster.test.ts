import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createDatabase } from '@appserving/shared';
import { createThrowawayDatabase, freePort, startTestNatsServer, type TestNatsServer } from '@appserving/shared/testing';
import { binaryPaths, readVersions } from '@appserving/test-cluster';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnService, waitUntil, type ServiceProcess } from './service-process.ts';

/**
 * No dead ends (issue 17): the four services as one real process, whose `local` cluster (registered at start from
 * APPSERVING_LOCAL_CLUSTER_KUBECONFIG, on loopback, the start-up path's explicit exception) is dead: nothing listens
 * on its API server's port. Its health says so; an app deployed there cannot be uninstalled, but a forced delete
 * ends in bounded time, and the cluster, with only such apps, can then be removed.
 */
const databaseServer = process.env.APPSERVING_TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const adminToken = randomBytes(32).toString('base64url');
const digest = `sha256:${'c'.repeat(64)}`;

let nats: TestNatsServer;
let database: { url: string; drop(): Promise<void> };
let dir: string;
let platform: ServiceProcess;
let base: string;

async function api<T = Record<string, unknown>>(method: string, path: string, body?: unknown): Promise<{ status: number; body: T }> {
  const response = await fetch(`${base}${path}`, {
    method,
    headers: { authorization: `Bearer ${adminToken}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await response.text();
  return { status: response.status, body: (text ? JSON.parse(text) : {}) as T };
}

/** The platform's error log lines (level 50 and up), for a failure's message. */
function errorsLogged(): string {
  return platform
    .output()
    .split('\n')
    .filter((line) => /"level":"(error|fatal)"/.test(line))
    .slice(-5)
    .join('\n');
}

beforeAll(async () => {
  nats = await startTestNatsServer();
  database = await createThrowawayDatabase(databaseServer);
  dir = await mkdtemp(join(tmpdir(), 'appserving-dead-cluster-'));
  const deadPort = await freePort();
  const kubeconfig = join(dir, 'kubeconfig.yaml');
  await writeFile(
    kubeconfig,
    [
      'apiVersion: v1',
      'kind: Config',
      `clusters: [{name: dead, cluster: {server: "https://127.0.0.1:${deadPort}", certificate-authority-data: "${Buffer.from('not a CA').toString('base64')}"}}]`,
      `users: [{name: dead, user: {token: "kubetoken-${randomBytes(8).toString('hex')}"}}]`,
      'contexts: [{name: dead, context: {cluster: dead, user: dead}}]',
      'current-context: dead',
      '',
    ].join('\n'),
    { mode: 0o600 },
  );
  const [gateway, builder, deployer, watcher] = await Promise.all([freePort(), freePort(), freePort(), freePort()]);
  base = `http://127.0.0.1:${gateway}`;
  platform = spawnService('packages/platform/src/main.ts', {
    APPSERVING_NATS_URL: nats.url,
    APPSERVING_DATABASE_URL: database.url,
    APPSERVING_LOG_LEVEL: 'info',
    APPSERVING_HELM_BINARY: binaryPaths(readVersions()).helm,
    APPSERVING_ADMIN_TOKEN: adminToken,
    APPSERVING_REGISTRY: '127.0.0.1:5000',
    APPSERVING_LOCAL_CLUSTER_KUBECONFIG: kubeconfig,
    APPSERVING_CLUSTER_PROBE_TIMEOUT_MS: '2000',
    APPSERVING_GATEWAY_PORT: String(gateway),
    APPSERVING_BUILDER_PORT: String(builder),
    APPSERVING_DEPLOYER_PORT: String(deployer),
    APPSERVING_WATCHER_PORT: String(watcher),
  });
  for (const port of [gateway, builder, deployer, watcher]) {
    await waitUntil(async () => (await fetch(`http://127.0.0.1:${port}/readyz`)).status === 200, `port ${port} to be ready`, 40_000);
  }
}, 90_000);

afterAll(async () => {
  if (platform) expect(await platform.terminate('SIGTERM'), platform.stderr().slice(-2_000)).toBe(0);
  await nats?.dispose();
  await database?.drop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('an app on a dead cluster', () => {
  it('is deleted by force in bounded time, and the cluster can then be removed', { timeout: 90_000 }, async () => {
    const { body: listed } = await api<{ clusters: { id: string; name: string }[] }>('GET', '/clusters');
    const cluster = listed.clusters.find((c) => c.name === 'local');
    expect(cluster).toBeDefined();
    const clusterId = cluster?.id as string;

    // Its health, checked again on demand: the API server does not answer.
    const checked = await api<{ health: { status: string; message: string } }>('POST', `/clusters/${clusterId}/check`);
    expect(checked.status).toBe(200);
    expect(checked.body.health).toMatchObject({ status: 'unreachable', message: expect.stringContaining('cannot be reached') });

    const created = await api<{ app: { id: string } }>('POST', '/apps', { name: 'stranded', task_type: 'deploy', image_url: `127.0.0.1:5000/stranded/app@${digest}`, resource_spec: 'small' });
    expect(created.status, `${JSON.stringify(created.body)}\n${errorsLogged()}`).toBe(202);
    const appId = created.body.app.id;

    // While the app lives there, the cluster cannot simply be removed.
    const inUse = await api<{ error: { code: string } }>('DELETE', `/clusters/${clusterId}`);
    expect(inUse.status).toBe(409);
    expect(inUse.body.error.code).toBe('cluster_in_use');

    // A forced delete: 202 with what may be left on the cluster, then the app is gone, whatever the cluster does.
    const started = Date.now();
    const forced = await api<{ forced: boolean; left_behind: { summary: string; cleanup: string[] } }>('DELETE', `/apps/${appId}?force=true`);
    expect(forced.status, `${JSON.stringify(forced.body)}\n${errorsLogged()}`).toBe(202);
    expect(forced.body).toMatchObject({ forced: true, left_behind: { summary: expect.stringContaining(appId), cleanup: expect.arrayContaining([expect.stringContaining('helm uninstall stranded')]) } });
    await waitUntil(async () => (await api('GET', `/apps/${appId}`)).status === 404, 'the forced delete to forget the app', 30_000);
    expect(Date.now() - started).toBeLessThan(30_000);
    // Every operation and release of the app reached a terminal state.
    const db = createDatabase({ url: database.url, onPoolError: () => {} });
    try {
      await waitUntil(async () => {
        const open = await db.db.selectFrom('operations').select('id').where('app_id', '=', appId).where('status', 'in', ['pending', 'running']).execute();
        const unfinished = await db.db.selectFrom('releases').select('id').where('app_id', '=', appId).where('finished_at', 'is', null).execute();
        return open.length === 0 && unfinished.length === 0;
      }, 'every operation and release of the app to end', 30_000);
    } finally {
      await db.close();
    }

    // With only such apps (an admin's app has no project), the cluster goes, without force, and is no longer listed.
    const removed = await api('DELETE', `/clusters/${clusterId}`);
    expect(removed.status).toBe(204);
    const after = await api<{ clusters: { id: string }[] }>('GET', '/clusters');
    expect(after.body.clusters.map((c) => c.id)).not.toContain(clusterId);
  });
});
