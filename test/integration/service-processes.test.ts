import { createThrowawayDatabase, freePort, startTestNatsServer, type TestNatsServer } from '@appserving/shared/testing';
import { binaryPaths, readVersions } from '@appserving/test-cluster';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getJson, spawnService, waitUntil } from './service-process.ts';

const databaseServer = process.env.APPSERVING_TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

let nats: TestNatsServer;
let database: { url: string; drop(): Promise<void> };

beforeAll(async () => {
  nats = await startTestNatsServer();
  database = await createThrowawayDatabase(databaseServer);
});

afterAll(async () => {
  await nats.dispose();
  await database.drop();
});

// The deployer refuses to start without a helm it can run: the one built for the local cluster (scripts/test.sh builds it).
const helm = binaryPaths(readVersions()).helm;
const baseEnv = () => ({ APPSERVING_NATS_URL: nats.url, APPSERVING_DATABASE_URL: database.url, APPSERVING_LOG_LEVEL: 'info', APPSERVING_HELM_BINARY: helm });

describe.each([
  ['gateway', 'APPSERVING_GATEWAY_PORT'],
  ['builder', 'APPSERVING_BUILDER_PORT'],
  ['deployer', 'APPSERVING_DEPLOYER_PORT'],
  ['watcher', 'APPSERVING_WATCHER_PORT'],
])('the %s service', (service, portVariable) => {
  it('starts against NATS and Postgres, serves /healthz, /readyz and /metrics, and exits cleanly on SIGTERM', async () => {
    const port = await freePort();
    const proc = spawnService(`services/${service}/src/main.ts`, { ...baseEnv(), [portVariable]: String(port) });
    const base = `http://127.0.0.1:${port}`;
    try {
      const ready = await waitUntil(async () => {
        const r = await getJson(`${base}/readyz`);
        return r.status === 200 ? r : undefined;
      }, `${service} to be ready`);
      expect(ready.body).toMatchObject({ status: 'ready', checks: { nats: { ok: true }, postgres: { ok: true } } });
      expect(await getJson(`${base}/healthz`)).toMatchObject({ status: 200, body: { status: 'ok' } });
      const metrics = await getJson(`${base}/metrics`);
      expect(metrics.status).toBe(200);
      expect(metrics.text).toContain('process_cpu_user_seconds_total');
      expect(metrics.text).toContain(`service="${service}"`);
    } finally {
      const code = await proc.terminate('SIGTERM');
      expect(code, proc.stderr()).toBe(0);
    }
    expect(proc.output()).toContain('shut down cleanly');
  });
});

describe('the all-in-one platform process', () => {
  it('runs the four services in one process, each answering on its own port', async () => {
    const ports = await Promise.all([freePort(), freePort(), freePort(), freePort()]);
    const [gateway, builder, deployer, watcher] = ports;
    const proc = spawnService('packages/platform/src/main.ts', {
      ...baseEnv(),
      APPSERVING_GATEWAY_PORT: String(gateway),
      APPSERVING_BUILDER_PORT: String(builder),
      APPSERVING_DEPLOYER_PORT: String(deployer),
      APPSERVING_WATCHER_PORT: String(watcher),
    });
    try {
      for (const port of ports) {
        await waitUntil(async () => (await getJson(`http://127.0.0.1:${port}/readyz`)).status === 200, `port ${port} to be ready`);
      }
      const watcherReady = await getJson(`http://127.0.0.1:${watcher}/readyz`);
      expect(watcherReady.body).toMatchObject({ checks: { 'consumer:watcher-projection-events': { ok: true } } });
    } finally {
      expect(await proc.terminate('SIGTERM'), proc.stderr()).toBe(0);
    }
  });
});

describe('start-up errors', () => {
  it('stops on an invalid configuration value with a message naming each bad variable, before connecting', async () => {
    const proc = spawnService('services/gateway/src/main.ts', {
      ...baseEnv(),
      APPSERVING_GATEWAY_PORT: 'ninety-one-twelve',
      APPSERVING_LOG_LEVEL: 'loud',
      APPSERVING_DATABASE_URL: 'mysql://root:hunter2@127.0.0.1/x',
    });
    expect(await proc.exited).toBe(78);
    const stderr = proc.stderr();
    expect(stderr).toContain('Invalid configuration');
    expect(stderr).toContain('APPSERVING_GATEWAY_PORT must be an integer between 1 and 65535, got "ninety-one-twelve"');
    expect(stderr).toContain('APPSERVING_LOG_LEVEL must be one of');
    expect(stderr).toContain('APPSERVING_DATABASE_URL');
    expect(stderr).not.toContain('hunter2');
    expect(proc.output()).not.toContain('connected to NATS');
  });

  it('says which NATS it could not reach and exits non-zero', async () => {
    const deadPort = await freePort();
    const proc = spawnService('services/watcher/src/main.ts', {
      ...baseEnv(),
      APPSERVING_NATS_URL: `nats://127.0.0.1:${deadPort}`,
      APPSERVING_NATS_CONNECT_TIMEOUT_MS: '1500',
      APPSERVING_WATCHER_PORT: String(await freePort()),
    });
    expect(await proc.exited).toBe(1);
    expect(proc.stderr()).toContain(`cannot reach NATS at nats://127.0.0.1:${deadPort}`);
  });
});
