import { randomBytes, randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { createDatabase, createLogger, migrateToLatest, type DatabaseHandle } from '@appserving/shared';
import { createArtifactStore, type ArtifactStore, type PutResult } from '@appserving/shared/artifacts';
import { createThrowawayDatabase, startTestNatsServer, type TestNatsServer } from '@appserving/shared/testing';
import { Readable } from 'node:stream';
import type { NatsConnection } from '@nats-io/nats-core';
import { connect } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHousekeeping } from './housekeeping.ts';

const databaseServer = process.env.APPSERVING_TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
let throwaway: Awaited<ReturnType<typeof createThrowawayDatabase>>;
let database: DatabaseHandle;
let nats: TestNatsServer;
let nc: NatsConnection;
const hour = 60 * 60_000;
const day = 24 * hour;
const log = createLogger({ service: 'test', level: 'silent' });

beforeAll(async () => {
  throwaway = await createThrowawayDatabase(databaseServer);
  database = createDatabase({ url: throwaway.url, poolMax: 2, onPoolError: () => {} });
  await migrateToLatest(database.db);
  nats = await startTestNatsServer();
  nc = await connect({ servers: nats.url });
});

afterAll(async () => {
  await nc?.drain();
  await nats?.dispose();
  await database?.close();
  await throwaway?.drop();
});

describe('housekeeping', () => {
  it('deletes old idempotency records and old published outbox entries, in batches, and keeps the rest', async () => {
    const { db } = database;
    const now = new Date('2026-12-02T12:00:00Z');
    const ago = (hours: number) => new Date(now.getTime() - hours * hour);
    const record = (key: string, createdAt: Date) => ({
      principal: 'token-1',
      key,
      method: 'POST',
      path: '/apps',
      request_hash: 'h',
      status_code: 202,
      response: '{}',
      created_at: createdAt,
    });
    // 25 expired (three batches of 10), 2 fresh.
    await db
      .insertInto('idempotency_records')
      .values([...Array.from({ length: 25 }, (_, i) => record(`old-${i}`, ago(25))), record('fresh-1', ago(23)), record('fresh-2', ago(1))])
      .execute();
    const entry = (published: Date | null, createdAt: Date) => ({ id: randomUUID(), subject: 's', type: 't', event: '{}', created_at: createdAt, published_at: published });
    const oldPublished = entry(ago(8 * 24), ago(8 * 24));
    const recentPublished = entry(ago(24), ago(24));
    const oldUnpublished = entry(null, ago(8 * 24));
    await db.insertInto('outbox').values([oldPublished, recentPublished, oldUnpublished]).execute();

    const housekeeping = createHousekeeping({
      db,
      log: createLogger({ service: 'test', level: 'silent' }),
      settings: { idempotencyKeyTtlMs: 24 * hour, outboxRetentionMs: 7 * 24 * hour, batchSize: 10 },
    });
    expect(await housekeeping.runOnce(now)).toEqual({ idempotencyRecords: 25, outboxEntries: 1, artifacts: 0, artifactBytes: 0, uploadLeftovers: 0 });

    const keys = (await db.selectFrom('idempotency_records').select('key').orderBy('key').execute()).map((r) => r.key);
    expect(keys).toEqual(['fresh-1', 'fresh-2']);
    const outbox = (await db.selectFrom('outbox').select('id').execute()).map((r) => r.id).sort();
    // An entry never published stays, however old: the relay still owes it to the stream.
    expect(outbox).toEqual([recentPublished.id, oldUnpublished.id].sort());
  });

  describe('uploaded artifacts', () => {
    let bucketSeq = 0;
    const jar = () => Buffer.concat([Buffer.from('PK\x03\x04', 'latin1'), randomBytes(2_000)]);
    const upload = (store: ArtifactStore, bytes: Buffer) => store.put(Readable.from([bytes]), { filename: 'app.jar' });
    let clusterId: string;

    beforeAll(async () => {
      ({ id: clusterId } = await database.db
        .insertInto('clusters')
        .values({ name: 'housekeeping', api_server_url: 'https://127.0.0.1:6443', kubeconfig_encrypted: Buffer.from([1]) })
        .returning('id')
        .executeTakeFirstOrThrow());
    });

    /** A release built from the artifact, created at `createdAt`, finished or not. */
    async function releaseOf(artifact: PutResult, createdAt: Date, finished: boolean) {
      const { id: appId } = await database.db
        .insertInto('apps')
        .values({ name: `app-${randomBytes(4).toString('hex')}`, cluster_id: clusterId, app_type: 'jar', strategy: 'rolling' })
        .returning('id')
        .executeTakeFirstOrThrow();
      await database.db
        .insertInto('releases')
        .values({
          app_id: appId,
          version: 1,
          version_label: 'v1',
          task_type: 'all',
          spec: JSON.stringify({ port: 8080, artifact_url: artifact.artifactUrl }),
          strategy: 'rolling',
          status: finished ? 'succeeded' : 'building',
          created_at: createdAt,
          finished_at: finished ? createdAt : null,
        })
        .execute();
    }

    it('removes those no recent or unfinished release uses; keeps the rest', async () => {
      const bucket = `housekeeping-${++bucketSeq}`;
      const store = await createArtifactStore({ connection: nc, bucket });
      const recent = await upload(store, jar());
      const onlyOld = await upload(store, jar());
      const unfinished = await upload(store, jar());
      const unused = await upload(store, jar());

      // Forty days on, with thirty days of retention: every upload is past it; the releases decide.
      const now = new Date(Date.now() + 40 * day);
      await releaseOf(recent, new Date(now.getTime() - 2 * day), true);
      await releaseOf(onlyOld, new Date(now.getTime() - 35 * day), true);
      await releaseOf(unfinished, new Date(now.getTime() - 39 * day), false);

      const housekeeping = createHousekeeping({ db: database.db, log, settings: { idempotencyKeyTtlMs: day, outboxRetentionMs: 7 * day, artifactRetentionMs: 30 * day }, artifacts: store });
      expect(await housekeeping.runOnce(now)).toMatchObject({ artifacts: 2, artifactBytes: onlyOld.size + unused.size, uploadLeftovers: 0 });

      expect(await store.info(recent.sha256)).toBeDefined();
      expect(await store.info(unfinished.sha256)).toBeDefined();
      expect(await store.info(onlyOld.sha256)).toBeUndefined();
      expect(await store.info(unused.sha256)).toBeUndefined();
      await expect(store.get(unused.sha256)).rejects.toMatchObject({ code: 'artifact_not_found' });

      // The next pass finds nothing more to do.
      expect(await housekeeping.runOnce(now)).toMatchObject({ artifacts: 0, uploadLeftovers: 0 });
    });

    it('counts from the last upload of the same bytes, and takes removed bytes again as a new upload', async () => {
      const bucket = `housekeeping-${++bucketSeq}`;
      const store = await createArtifactStore({ connection: nc, bucket });
      const bytes = jar();
      const first = await upload(store, bytes);
      const onceBytes = jar();
      const once = await upload(store, onceBytes);
      await sleep(20);
      const between = Date.now();
      await sleep(20);
      expect(await upload(store, bytes)).toMatchObject({ sha256: first.sha256, deduplicated: true });

      // Retention ending between the two uploads: the one uploaded again stays, the other goes.
      const housekeeping = createHousekeeping({ db: database.db, log, settings: { idempotencyKeyTtlMs: day, outboxRetentionMs: 7 * day, artifactRetentionMs: day }, artifacts: store });
      expect(await housekeeping.runOnce(new Date(between + day))).toMatchObject({ artifacts: 1 });
      expect(await store.info(first.sha256)).toBeDefined();
      expect(await store.info(once.sha256)).toBeUndefined();

      const again = await upload(store, onceBytes);
      expect(again).toMatchObject({ sha256: once.sha256, deduplicated: false });
      expect(await store.info(again.sha256)).toMatchObject({ size: again.size });
    });

    it('does nothing with retention 0', async () => {
      const bucket = `housekeeping-${++bucketSeq}`;
      const store = await createArtifactStore({ connection: nc, bucket });
      const kept = await upload(store, jar());
      const housekeeping = createHousekeeping({ db: database.db, log, settings: { idempotencyKeyTtlMs: day, outboxRetentionMs: 7 * day, artifactRetentionMs: 0 }, artifacts: store });
      expect(await housekeeping.runOnce(new Date(Date.now() + 365 * day))).toMatchObject({ artifacts: 0, uploadLeftovers: 0 });
      expect(await store.info(kept.sha256)).toBeDefined();
    });
  });
});
