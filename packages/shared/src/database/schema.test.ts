import { sql } from 'kysely';
import type { Kysely } from 'kysely';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { isUniqueViolation } from './database-errors.ts';
import { migrateToLatest } from './migrate.ts';
import { CONSTRAINTS } from './schema.ts';
import type { Database, NewTimelineEntry } from './schema.ts';
import { openTestDatabase } from './test-support.ts';
import type { TestDatabase } from './test-support.ts';

async function insertCluster(db: Kysely<Database>, name = 'local'): Promise<string> {
  const { id } = await db
    .insertInto('clusters')
    .values({ name, api_server_url: 'https://127.0.0.1:6443', kubeconfig_encrypted: Buffer.from([1, 2, 3]) })
    .returning('id')
    .executeTakeFirstOrThrow();
  return id;
}

async function insertApp(db: Kysely<Database>, clusterId: string, name = 'hello'): Promise<string> {
  const { id } = await db
    .insertInto('apps')
    .values({ name, cluster_id: clusterId, app_type: 'jar', strategy: 'rolling' })
    .returning('id')
    .executeTakeFirstOrThrow();
  return id;
}

function newOperation(appId: string, commandId: string) {
  return { app_id: appId, kind: 'update', command_id: commandId } as const;
}

/** The error a promise rejects with (fails the test if it resolves). */
async function rejection(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => expect.fail('expected the statement to be rejected'),
    (error: unknown) => error,
  );
}

describe('schema constraints', () => {
  let database: TestDatabase & { cleanup(): Promise<void> };
  let db: Kysely<Database>;
  beforeEach(async () => {
    database = await openTestDatabase();
    db = database.handle.db;
    await migrateToLatest(db);
  });
  afterEach(async () => {
    await database.cleanup();
  });

  it('rejects a second active operation for the same app, and allows one once the first finished', async () => {
    const appId = await insertApp(db, await insertCluster(db));
    const otherAppId = await insertApp(db, await insertCluster(db, 'other'), 'hello');

    const first = await db.insertInto('operations').values(newOperation(appId, 'cmd-1')).returning('id').executeTakeFirstOrThrow();
    await db.insertInto('operations').values(newOperation(otherAppId, 'cmd-other')).execute();

    const error = await rejection(db.insertInto('operations').values(newOperation(appId, 'cmd-2')).execute());
    expect(isUniqueViolation(error, CONSTRAINTS.oneActiveOperationPerApp)).toBe(true);

    await db.updateTable('operations').set({ status: 'running' }).where('id', '=', first.id).execute();
    const stillRunning = await rejection(db.insertInto('operations').values(newOperation(appId, 'cmd-3')).execute());
    expect(isUniqueViolation(stillRunning, CONSTRAINTS.oneActiveOperationPerApp)).toBe(true);

    await db
      .updateTable('operations')
      .set({ status: 'succeeded', finished_at: new Date() })
      .where('id', '=', first.id)
      .execute();
    await db.insertInto('operations').values(newOperation(appId, 'cmd-4')).execute();

    const active = await db
      .selectFrom('operations')
      .select('command_id')
      .where('app_id', '=', appId)
      .where('status', 'in', ['pending', 'running'])
      .execute();
    expect(active).toEqual([{ command_id: 'cmd-4' }]);
  });

  it('rejects a repeated command id, and a finished operation without finished_at', async () => {
    const appId = await insertApp(db, await insertCluster(db));
    await db
      .insertInto('operations')
      .values({ ...newOperation(appId, 'cmd-1'), status: 'failed', finished_at: new Date() })
      .execute();
    const repeated = await rejection(
      db
        .insertInto('operations')
        .values({ ...newOperation(appId, 'cmd-1'), status: 'failed', finished_at: new Date() })
        .execute(),
    );
    expect(isUniqueViolation(repeated, CONSTRAINTS.operationCommandId)).toBe(true);

    const unfinished = await rejection(
      db.insertInto('operations').values({ ...newOperation(appId, 'cmd-2'), status: 'succeeded' }).execute(),
    );
    expect(unfinished).toMatchObject({ code: '23514', constraint: 'operations_finished_at_check' });
  });

  it('stores a replayed timeline event once', async () => {
    const appId = await insertApp(db, await insertCluster(db));
    const event: NewTimelineEntry = {
      event_id: '4b1c6a9e-0f5e-4a52-9a43-3a8f1b9d2c11',
      app_id: appId,
      type: 'io.appserving.release.status-changed.v1',
      source: 'appserving/watcher',
      subject: 'release/1',
      occurred_at: new Date('2025-01-01T00:00:00Z'),
      data: JSON.stringify({ status: 'progressing', weights: [10, 90] }),
    };
    const insertOnce = () =>
      db
        .insertInto('timeline')
        .values(event)
        .onConflict((oc) => oc.column('event_id').doNothing())
        .executeTakeFirst();

    expect((await insertOnce()).numInsertedOrUpdatedRows).toBe(1n);
    expect((await insertOnce()).numInsertedOrUpdatedRows).toBe(0n);

    const rows = await db.selectFrom('timeline').selectAll().where('app_id', '=', appId).execute();
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({
      event_id: event.event_id,
      occurred_at: new Date('2025-01-01T00:00:00Z'),
      data: { status: 'progressing', weights: [10, 90] },
    });
    expect(typeof rows[0]?.id).toBe('string');
    expect(rows[0]?.recorded_at).toBeInstanceOf(Date);
  });

  it('keeps app names unique per cluster among apps that are not deleted', async () => {
    const clusterId = await insertCluster(db);
    const appId = await insertApp(db, clusterId, 'shop');
    const duplicate = await rejection(insertApp(db, clusterId, 'shop'));
    expect(isUniqueViolation(duplicate, CONSTRAINTS.appNamePerCluster)).toBe(true);

    await insertApp(db, await insertCluster(db, 'other'), 'shop');

    await db.updateTable('apps').set({ status: 'deleted', deleted_at: new Date() }).where('id', '=', appId).execute();
    await insertApp(db, clusterId, 'shop');
    const { count } = await db
      .selectFrom('apps')
      .select((eb) => eb.fn.countAll<string>().as('count'))
      .where('cluster_id', '=', clusterId)
      .executeTakeFirstOrThrow();
    expect(count).toBe('2');
  });

  it('rejects names that are not DNS labels and values outside the closed sets', async () => {
    const clusterId = await insertCluster(db);
    for (const name of ['Shop', '-shop', 'shop-', '1shop', 'a'.repeat(64), 'shop_app', '']) {
      expect(await rejection(insertApp(db, clusterId, name)), name).toMatchObject({ code: '23514', constraint: 'apps_name_check' });
    }
    await insertApp(db, clusterId, `a${'b'.repeat(62)}`);

    const badType = await rejection(
      sql`insert into apps (name, cluster_id, app_type, strategy) values ('x', ${clusterId}, 'exe', 'rolling')`.execute(db),
    );
    expect(badType).toMatchObject({ code: '23514', constraint: 'apps_app_type_check' });

    const appId = await insertApp(db, clusterId, 'shop');
    const release = {
      app_id: appId,
      version: 1,
      version_label: 'v1',
      task_type: 'all',
      spec: JSON.stringify({ port: 8080 }),
      strategy: 'canary',
    } as const;
    const { id: releaseId } = await db.insertInto('releases').values(release).returning('id').executeTakeFirstOrThrow();
    const badStatus = await rejection(
      sql`update releases set status = 'done' where id = ${releaseId}`.execute(db),
    );
    expect(badStatus).toMatchObject({ code: '23514', constraint: 'releases_status_check' });

    const sameVersion = await rejection(db.insertInto('releases').values(release).execute());
    expect(isUniqueViolation(sameVersion, CONSTRAINTS.releaseVersionPerApp)).toBe(true);

    const arraySpec = await rejection(db.insertInto('releases').values({ ...release, version: 2, version_label: 'v2', spec: '[]' }).execute());
    expect(arraySpec).toMatchObject({ code: '23514', constraint: 'releases_spec_check' });

    await db
      .updateTable('releases')
      .set({ status: 'waiting-promotion', image_digest: `sha256:${'a'.repeat(64)}`, helm_revision: 3 })
      .where('id', '=', releaseId)
      .execute();
    const badDigest = await rejection(
      db.updateTable('releases').set({ image_digest: 'latest' }).where('id', '=', releaseId).execute(),
    );
    expect(badDigest).toMatchObject({ code: '23514', constraint: 'releases_image_digest_check' });
  });

  it('allows one default cluster among clusters that are not deleted', async () => {
    const first = await insertCluster(db, 'a');
    await insertCluster(db, 'b');
    await db.updateTable('clusters').set({ is_default: true }).where('id', '=', first).execute();
    const second = await rejection(db.updateTable('clusters').set({ is_default: true }).where('name', '=', 'b').execute());
    expect(isUniqueViolation(second, CONSTRAINTS.oneDefaultCluster)).toBe(true);

    const sameName = await rejection(insertCluster(db, 'a'));
    expect(isUniqueViolation(sameName, CONSTRAINTS.clusterName)).toBe(true);
    await db.updateTable('clusters').set({ deleted_at: new Date() }).where('id', '=', first).execute();
    await insertCluster(db, 'a');
    await db.updateTable('clusters').set({ is_default: true }).where('name', '=', 'b').execute();

    const stored = await db.selectFrom('clusters').select('kubeconfig_encrypted').where('id', '=', first).executeTakeFirstOrThrow();
    expect(stored.kubeconfig_encrypted).toEqual(Buffer.from([1, 2, 3]));
  });

  it('sets updated_at on every update', async () => {
    const clusterId = await insertCluster(db);
    const appId = await insertApp(db, clusterId);
    const before = await db.selectFrom('apps').select(['created_at', 'updated_at']).where('id', '=', appId).executeTakeFirstOrThrow();
    expect(before.updated_at).toEqual(before.created_at);
    await new Promise((resolve) => setTimeout(resolve, 20));
    await db.updateTable('apps').set({ status: 'running' }).where('id', '=', appId).execute();
    const after = await db.selectFrom('apps').select(['created_at', 'updated_at']).where('id', '=', appId).executeTakeFirstOrThrow();
    expect(after.created_at).toEqual(before.created_at);
    expect(after.updated_at.getTime()).toBeGreaterThan(before.updated_at.getTime());
  });
});
