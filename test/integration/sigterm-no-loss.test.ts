import { randomUUID } from 'node:crypto';
import { BuildStartedV1, consumers, createDatabase, createPublisher, streams, type DatabaseHandle } from '@appserving/shared';
import { createThrowawayDatabase, freePort, startTestNatsServer, type TestNatsServer } from '@appserving/shared/testing';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnService, waitUntil } from './service-process.ts';

const databaseServer = process.env.APPSERVING_TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const total = 3_000;

let nats: TestNatsServer;
let nc: NatsConnection;
let throwaway: { url: string; drop(): Promise<void> };
let database: DatabaseHandle;

beforeAll(async () => {
  nats = await startTestNatsServer();
  nc = await connect({ servers: nats.url });
  throwaway = await createThrowawayDatabase(databaseServer);
});

afterAll(async () => {
  await database?.close();
  await nc?.close();
  await nats?.dispose();
  await throwaway?.drop();
});

async function timelineCounts(): Promise<{ rows: number; distinct: number }> {
  const result = await sql<{ rows: string; distinct: string }>`
    select count(*) as rows, count(distinct event_id) as distinct from timeline`.execute(database.db);
  const row = result.rows[0];
  return { rows: Number(row?.rows ?? 0), distinct: Number(row?.distinct ?? 0) };
}

describe('SIGTERM while the watcher is handling messages', () => {
  it('loses no message: what was in flight is finished or handed back, and a restarted watcher records the rest once', async () => {
    const env = () => ({
      APPSERVING_NATS_URL: nats.url,
      APPSERVING_DATABASE_URL: throwaway.url,
      APPSERVING_LOG_LEVEL: 'info',
      APPSERVING_CONSUMER_CONCURRENCY: '32',
    });
    const port = String(await freePort());
    const first = spawnService('services/watcher/src/main.ts', { ...env(), APPSERVING_WATCHER_PORT: port });
    await waitUntil(async () => (await fetch(`http://127.0.0.1:${port}/readyz`)).status === 200, 'the watcher to be ready');
    database = createDatabase({ url: throwaway.url, onPoolError: () => {} });

    const publisher = createPublisher({ js: jetstream(nc), source: '/test/other-system' });
    const appId = randomUUID();
    const release = { app_id: appId, app_name: 'orders', release_id: randomUUID(), version: 1, cluster_id: randomUUID() };
    for (let i = 0; i < total; i += 100) {
      await Promise.all(
        Array.from({ length: Math.min(100, total - i) }, () =>
          publisher.publish(BuildStartedV1, { id: randomUUID(), appId, data: { release, method: 'kaniko' } }),
        ),
      );
    }

    // Stop it mid-stream: some entries recorded, most not yet.
    await waitUntil(async () => (await timelineCounts()).rows >= 100, 'the first timeline entries');
    expect(await first.terminate('SIGTERM'), first.stderr()).toBe(0);
    expect(first.output()).toContain('shut down cleanly');
    const afterStop = await timelineCounts();
    expect(afterStop.rows).toBeLessThan(total);

    const jsm = await jetstreamManager(nc);
    const stopped = await jsm.consumers.info(streams.events.name, consumers.projectionEvents.name);
    expect(stopped.num_ack_pending).toBe(0); // nothing left dangling: all in-flight messages acked or handed back

    const second = spawnService('services/watcher/src/main.ts', { ...env(), APPSERVING_WATCHER_PORT: port });
    try {
      await waitUntil(async () => (await timelineCounts()).rows >= total, 'every event to be recorded', 60_000);
      await new Promise((r) => setTimeout(r, 500));
      expect(await timelineCounts()).toEqual({ rows: total, distinct: total });
      const done = await jsm.consumers.info(streams.events.name, consumers.projectionEvents.name);
      expect(done.num_pending).toBe(0);
    } finally {
      expect(await second.terminate('SIGTERM')).toBe(0);
    }
  });
});
