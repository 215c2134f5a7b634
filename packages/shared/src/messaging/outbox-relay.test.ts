import { randomUUID } from 'node:crypto';
import { jetstream } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BuildCommandV1, createCloudEvent } from '../contracts/index.ts';
import { createDatabase, migrateToLatest, type DatabaseHandle } from '../database/index.ts';
import { createThrowawayDatabase, startTestNatsServer, type TestNatsServer } from '../testing/index.ts';
import { createMessaging } from './messaging.ts';
import { createOutboxRelay, type OutboxEntry } from './outbox-relay.ts';
import { createPublisher, type Publisher } from './publisher.ts';

const log = pino({ level: 'silent' });
const databaseServer = process.env.APPSERVING_TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
let server: TestNatsServer;
let throwaway: Awaited<ReturnType<typeof createThrowawayDatabase>>;
let database: DatabaseHandle;

beforeAll(async () => {
  server = await startTestNatsServer();
  throwaway = await createThrowawayDatabase(databaseServer);
  database = createDatabase({ url: throwaway.url, poolMax: 4, onPoolError: () => {} });
  await migrateToLatest(database.db);
});

afterAll(async () => {
  await database?.close();
  await throwaway?.drop();
  await server?.dispose();
});

describe('the outbox relay', () => {
  it('does not publish again, from its sweep, an entry it is publishing right after commit', async () => {
    const nc = await connect({ servers: server.url });
    const messaging = await createMessaging({ nc, source: '/test', settings: { consumerConcurrency: 1, ackWaitMs: 2_000, retry: { maxDeliveries: 3, baseDelayMs: 100, maxDelayMs: 1_000 } }, log });
    await messaging.ensureTopology();
    // The real publisher, slowed down: the sweep (every 10 ms, entries stale at once) runs many times while the
    // first publish is on its way. Each publish is counted by id.
    const real = createPublisher({ js: jetstream(nc), source: '/test' });
    const published: string[] = [];
    const slow: Publisher = {
      publish: (type, message) => real.publish(type, message),
      async publishEvent(type, subject, event) {
        published.push(event.id);
        await new Promise((resolve) => setTimeout(resolve, 300));
        return real.publishEvent(type, subject, event);
      },
    };
    const relay = createOutboxRelay({ db: database.db, publisher: slow, log, staleAfterMs: 0, intervalMs: 10 });
    const appId = randomUUID();
    const id = randomUUID();
    const event = createCloudEvent(BuildCommandV1, {
      id,
      source: '/test',
      subject: appId,
      data: {
        release: { app_id: appId, app_name: 'orders', release_id: randomUUID(), version: 1, cluster_id: randomUUID() },
        spec: { app_type: 'jar', artifact_url: 'https://artifacts.example/app.jar', port: 8080, resource_spec: 'small', strategy: 'rolling', env: {}, config: {}, secret_names: [], volumes: [], replicas: 1 },
        then_deploy: false,
      },
    });
    const entry: OutboxEntry = { id, subject: BuildCommandV1.subject(appId), event };
    await database.db.insertInto('outbox').values({ id, subject: entry.subject, type: event.type, event: JSON.stringify(event) }).execute();
    try {
      relay.start();
      await relay.publishNow([entry]);
      // The mark is written within 50 ms of the publish; give the sweep time to run after it as well.
      await new Promise((resolve) => setTimeout(resolve, 400));
      const row = await database.db.selectFrom('outbox').select('published_at').where('id', '=', id).executeTakeFirstOrThrow();
      expect(row.published_at).toBeInstanceOf(Date);
      expect(published).toEqual([id]);
    } finally {
      await relay.stop();
      await nc.close();
    }
  });
});
