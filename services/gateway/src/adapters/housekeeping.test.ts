import { randomUUID } from 'node:crypto';
import { createDatabase, createLogger, migrateToLatest, type DatabaseHandle } from '@appserving/shared';
import { createThrowawayDatabase } from '@appserving/shared/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHousekeeping } from './housekeeping.ts';

const databaseServer = process.env.APPSERVING_TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
let throwaway: Awaited<ReturnType<typeof createThrowawayDatabase>>;
let database: DatabaseHandle;
const hour = 60 * 60_000;

beforeAll(async () => {
  throwaway = await createThrowawayDatabase(databaseServer);
  database = createDatabase({ url: throwaway.url, poolMax: 2, onPoolError: () => {} });
  await migrateToLatest(database.db);
});

afterAll(async () => {
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
    expect(await housekeeping.runOnce(now)).toEqual({ idempotencyRecords: 25, outboxEntries: 1 });

    const keys = (await db.selectFrom('idempotency_records').select('key').orderBy('key').execute()).map((r) => r.key);
    expect(keys).toEqual(['fresh-1', 'fresh-2']);
    const outbox = (await db.selectFrom('outbox').select('id').execute()).map((r) => r.id).sort();
    // An entry never published stays, however old: the relay still owes it to the stream.
    expect(outbox).toEqual([recentPublished.id, oldUnpublished.id].sort());
  });
});
