import { randomUUID } from 'node:crypto';
import { createDatabase, migrateToLatest, type CloudEvent, type DatabaseHandle } from '@appserving/shared';
import { createThrowawayDatabase } from '@appserving/shared/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { NewAppRows } from './app.repository.ts';
import { newAppBatcher } from './new-app-batcher.ts';

const databaseServer = process.env.APPSERVING_TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
let throwaway: Awaited<ReturnType<typeof createThrowawayDatabase>>;
let database: DatabaseHandle;
let liveCluster: string;
let removedCluster: string;

beforeAll(async () => {
  throwaway = await createThrowawayDatabase(databaseServer);
  database = createDatabase({ url: throwaway.url, poolMax: 4, onPoolError: () => {} });
  await migrateToLatest(database.db);
  const cluster = (name: string, deletedAt: Date | null) =>
    database.db
      .insertInto('clusters')
      .values({ name, api_server_url: 'https://127.0.0.1:6443', kubeconfig_encrypted: Buffer.from('sealed'), deleted_at: deletedAt })
      .returning('id')
      .executeTakeFirstOrThrow();
  liveCluster = (await cluster('live', null)).id;
  removedCluster = (await cluster('removed', new Date())).id;
});

afterAll(async () => {
  await database?.close();
  await throwaway?.drop();
});

/** The rows of one new app, as the create route builds them; keyed when `key` is given. */
function newApp(name: string, options: { key?: string; clusterId?: string } = {}): NewAppRows {
  const appId = randomUUID();
  const commandId = randomUUID();
  const spec = { artifact_url: 'http://nexus.example/petclinic.jar', port: 8080, strategy: 'rolling' } as NewAppRows['release']['spec'];
  const event = { specversion: '1.0', id: commandId, type: 'dev.appserving.command.build.v1', source: '/test', subject: appId, data: { spec } } as unknown as CloudEvent;
  return {
    app: { id: appId, name, clusterId: options.clusterId ?? liveCluster, projectId: null, appType: 'jar', strategy: 'rolling' },
    release: { id: randomUUID(), versionLabel: 'v1', taskType: 'all', spec, secretsEncrypted: Buffer.from([0, 1, 2, 250]), imageRef: null },
    operation: { id: randomUUID(), commandId },
    command: { id: commandId, subject: `appserving.cmd.build.${appId}`, event },
    createdAt: new Date('2026-12-03T08:00:00Z'),
    ...(options.key
      ? { record: { claim: { principal: 'token-1', key: options.key, method: 'POST', path: '/apps', requestHash: `hash-of-${name}` }, status: 202, body: { app: { name } } } }
      : {}),
  };
}

const countOf = async (table: 'apps' | 'releases' | 'operations' | 'outbox') =>
  Number((await database.db.selectFrom(table).select((eb) => eb.fn.countAll().as('n')).executeTakeFirstOrThrow()).n);

describe('the group commit of new apps', () => {
  it('writes creates that arrive together in one statement, each with its own outcome', async () => {
    const { db } = database;
    const batches: number[] = [];
    const batcher = newAppBatcher(db, { maxInFlight: 1, onBatch: (size) => batches.push(size) });
    expect(await batcher.create(newApp('taken'))).toBe('written');

    const fresh = Array.from({ length: 16 }, (_, i) => newApp(`fresh-${i}`, { key: `key-fresh-${i}` }));
    const nameTaken = newApp('taken', { key: 'key-taken' });
    const sameKey = [newApp('twin-a', { key: 'key-twin' }), newApp('twin-b', { key: 'key-twin' })];
    const sameName = [newApp('dup', { key: 'key-dup-1' }), newApp('dup', { key: 'key-dup-2' })];
    const clusterGone = newApp('orphan', { key: 'key-orphan', clusterId: removedCluster });
    const outcomes = await Promise.all([...fresh, nameTaken, ...sameKey, ...sameName, clusterGone].map((rows) => batcher.create(rows)));

    expect(outcomes).toEqual([...fresh.map(() => 'written'), 'name_taken', 'written', 'key_answered', 'written', 'name_taken', 'target_gone']);
    // The 22 went together: one statement after the first create's own.
    expect(batches).toEqual([1, 22]);
    // Written: the first app, 16 fresh, one twin and one dup; each with its release, operation and command.
    for (const table of ['apps', 'releases', 'operations', 'outbox'] as const) expect(await countOf(table), table).toBe(19);
    const keys = (await db.selectFrom('idempotency_records').select('key').orderBy('key').execute()).map((r) => r.key);
    // A refused create leaves no record of its key (the request may be retried); an unwritten one none either.
    expect(keys).toEqual([...fresh.map((_, i) => `key-fresh-${i}`), 'key-twin', 'key-dup-1'].sort());
    const twin = await db.selectFrom('apps').select('name').where('name', 'in', ['twin-a', 'twin-b']).execute();
    expect(twin).toEqual([{ name: 'twin-a' }]);
    const release = await db.selectFrom('releases').select(['secrets_encrypted', 'spec', 'version', 'version_label']).where('id', '=', fresh[3]!.release.id).executeTakeFirstOrThrow();
    expect(release).toEqual({ secrets_encrypted: Buffer.from([0, 1, 2, 250]), spec: fresh[3]!.release.spec, version: 1, version_label: 'v1' });
    const outbox = await db.selectFrom('outbox').select(['subject', 'type', 'published_at']).where('id', '=', fresh[3]!.command.id).executeTakeFirstOrThrow();
    expect(outbox).toEqual({ subject: fresh[3]!.command.subject, type: 'dev.appserving.command.build.v1', published_at: null });
  });

  it('fails only the create Postgres refuses, and writes the others of its statement', async () => {
    const batches: number[] = [];
    const batcher = newAppBatcher(database.db, { maxInFlight: 1, onBatch: (size) => batches.push(size) });
    const before = await countOf('apps');
    // Not a DNS label: the apps_name_check constraint refuses it (the API's validation would have earlier).
    const good = Array.from({ length: 4 }, (_, i) => newApp(`good-${i}`));
    const results = await Promise.allSettled([good[0]!, newApp('Not_A_Label'), ...good.slice(1)].map((rows) => batcher.create(rows)));

    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled', 'fulfilled', 'fulfilled']);
    expect(results.filter((r) => r.status === 'fulfilled').map((r) => r.value)).toEqual(['written', 'written', 'written', 'written']);
    const refused = results[1];
    expect(refused?.status === 'rejected' && String(refused.reason)).toMatch(/apps_name_check/);
    expect(batches).toEqual([5]);
    expect(await countOf('apps')).toBe(before + 4);
  });
});
