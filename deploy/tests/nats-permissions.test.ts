import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { jetstream } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { createArtifactStore } from '@appserving/shared/artifacts';
import { createThrowawayDatabase, freePort, natsServerBinary } from '@appserving/shared/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { CHART, clusterHelm, clusterTools, SERVICES } from './support.ts';

// The bundled NATS server's configuration, as the chart renders it, run by a real nats-server on loopback: each
// service starts under its own user (topology ensured, consumers pulling), and a user cannot publish or pull
// what belongs to another service.
const t = clusterTools();
const root = join(import.meta.dirname, '..', '..');
const work = mkdtempSync(join(tmpdir(), 'appserving-nats-perm-'));
const children: ChildProcess[] = [];
const connections: NatsConnection[] = [];
const passwords = new Map<string, string>();
let url = '';
let dropDatabase: (() => Promise<void>) | undefined;

beforeAll(async () => {
  const rendered = await t.helm('template', 'perm', CHART, '--kube-version=1.36.0', '--set', 'nats.enabled=true', '--set', 'postgresql.enabled=true', '--show-only', 'charts/nats/templates/nats.yaml');
  const docs = parseAllDocuments(rendered).map((d) => d.toJS() as { kind?: string; metadata?: { name: string }; data?: Record<string, string> } | null);
  const secret = (name: string) => docs.find((d) => d?.kind === 'Secret' && d.metadata?.name === name)?.data ?? {};
  const decode = (v: string | undefined) => Buffer.from(v ?? '', 'base64').toString();
  for (const service of SERVICES) passwords.set(service, decode(secret(`perm-nats-${service}`).password));
  const config = decode(secret('perm-nats-config')['nats.conf'])
    .replace('"/data/jetstream"', JSON.stringify(join(work, 'js')))
    .replace('"/var/run/nats/nats.pid"', JSON.stringify(join(work, 'nats.pid')))
    .replace(/^http_port: .*$/m, '');
  writeFileSync(join(work, 'nats.conf'), config);
  const port = await freePort();
  url = `nats://127.0.0.1:${port}`;
  const server = spawn(natsServerBinary(), ['-c', join(work, 'nats.conf'), '-a', '127.0.0.1', '-p', String(port)], { stdio: 'ignore' });
  children.push(server);
  for (let i = 0; i < 100; i++) {
    const up = await connect({ servers: url, user: 'gateway', pass: passwords.get('gateway') ?? '' }).then((nc) => nc.close().then(() => true), () => false);
    if (up) break;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  const database = await createThrowawayDatabase(process.env.APPSERVING_TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres');
  dropDatabase = () => database.drop();
  process.env.PERM_DATABASE_URL = database.url;
}, 120_000);

afterAll(async () => {
  for (const nc of connections) await nc.close().catch(() => {});
  for (const child of children.reverse()) child.kill('SIGTERM');
  await new Promise((resolve) => setTimeout(resolve, 1_000));
  await dropDatabase?.().catch(() => {});
  rmSync(work, { recursive: true, force: true });
  t.cleanup();
});

async function as(service: string): Promise<NatsConnection> {
  const nc = await connect({ servers: url, user: service, pass: passwords.get(service) ?? '' });
  connections.push(nc);
  return nc;
}

describe('per-service NATS users of the bundled server', () => {
  it('every service starts under its own user: streams and consumers ensured, /readyz ready', async () => {
    for (const service of SERVICES) {
      const port = await freePort();
      const child = spawn(process.execPath, [`services/${service}/src/main.ts`], {
        cwd: root,
        stdio: ['ignore', 'ignore', 'pipe'],
        env: {
          PATH: process.env.PATH,
          APPSERVING_HTTP_HOST: '127.0.0.1',
          [`APPSERVING_${service.toUpperCase()}_PORT`]: String(port),
          APPSERVING_NATS_URL: url,
          APPSERVING_NATS_USER: service,
          APPSERVING_NATS_PASSWORD: passwords.get(service),
          APPSERVING_DATABASE_URL: process.env.PERM_DATABASE_URL,
          APPSERVING_LOG_LEVEL: 'warn',
          APPSERVING_SHUTDOWN_GRACE_MS: '1000',
          APPSERVING_HELM_BINARY: clusterHelm(),
        },
      });
      children.push(child);
      let stderr = '';
      child.stderr?.on('data', (chunk: Buffer) => (stderr = (stderr + chunk.toString()).slice(-4000)));
      let status: number | undefined;
      for (let i = 0; i < 240 && child.exitCode === null; i++) {
        status = await fetch(`http://127.0.0.1:${port}/readyz`).then((r) => r.status, () => undefined);
        if (status === 200) break;
        await new Promise((resolve) => setTimeout(resolve, 250));
      }
      expect(status, `${service} ready under its own NATS user; stderr: ${stderr}`).toBe(200);
    }
  }, 180_000);

  it('a service cannot publish another service\'s messages', async () => {
    const cases = [
      ['gateway', 'appserving.evt.release.status.00000000-0000-0000-0000-000000000000'],
      ['watcher', 'appserving.cmd.build.00000000-0000-0000-0000-000000000000'],
      ['deployer', 'appserving.evt.build.succeeded.00000000-0000-0000-0000-000000000000'],
      ['builder', 'appserving.evt.deploy.step.00000000-0000-0000-0000-000000000000'],
    ] as const;
    for (const [service, subject] of cases) {
      const js = jetstream(await as(service), { timeout: 2_000 });
      await expect(js.publish(subject, '{}'), `${service} publishing ${subject}`).rejects.toThrow();
    }
    // And what it owns goes through.
    const js = jetstream(await as('gateway'), { timeout: 5_000 });
    await expect(js.publish('appserving.cmd.build.00000000-0000-0000-0000-000000000000', '{}', { msgID: 'perm-test' })).resolves.toMatchObject({ stream: 'APPSERVING_COMMANDS' });
    const watcher = jetstream(await as('watcher'), { timeout: 5_000 });
    await expect(watcher.publish('appserving.evt.app.health.00000000-0000-0000-0000-000000000000', '{}', { msgID: 'perm-health' })).resolves.toMatchObject({ stream: 'APPSERVING_EVENTS' });
  });

  it('the gateway\'s user can do what its housekeeping does to uploads: list them and remove one without a trace', async () => {
    const store = await createArtifactStore({ connection: await as('gateway') });
    const uploaded = await store.put(Readable.from([Buffer.concat([Buffer.from('PK\x03\x04', 'latin1'), randomBytes(1_000)])]), { filename: 'perm.jar' });
    const later = new Date(Date.now() + 60_000);
    const removed = await store.removeUnused({ before: later, leftoversBefore: later, inUse: async () => new Set() });
    expect(removed.artifacts).toContain(uploaded.sha256);
    expect(await store.info(uploaded.sha256)).toBeUndefined();
  });

  it('a service cannot pull from another service\'s durable consumer', async () => {
    const js = jetstream(await as('gateway'), { timeout: 2_000 });
    const consumer = await js.consumers.get('APPSERVING_COMMANDS', 'builder').catch(() => undefined);
    const fetched = consumer ? await consumer.next({ expires: 1_000 }).then((m) => m, (error: unknown) => error) : new Error('no access');
    expect(fetched === null || fetched instanceof Error, 'the gateway got no builder message').toBe(true);
    const builder = jetstream(await as('builder'), { timeout: 5_000 });
    const own = await builder.consumers.get('APPSERVING_COMMANDS', 'builder');
    expect((await own.info()).name).toBe('builder');
  });
});
