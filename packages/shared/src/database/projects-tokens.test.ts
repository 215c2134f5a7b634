import { createHash, randomBytes } from 'node:crypto';
import type { Kysely } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isUniqueViolation } from './database-errors.ts';
import { migrateToLatest } from './migrate.ts';
import { CONSTRAINTS } from './schema.ts';
import type { Database } from './schema.ts';
import { openTestDatabase } from './test-support.ts';
import type { TestDatabase } from './test-support.ts';

const CHECK_VIOLATION = '23514';
const FOREIGN_KEY_VIOLATION = '23503';

async function rejection(promise: Promise<unknown>): Promise<{ code?: string; constraint?: string }> {
  return promise.then(
    () => expect.fail('expected the statement to be rejected'),
    (error: unknown) => error as { code?: string; constraint?: string },
  );
}

function tokenHash(): string {
  return createHash('sha256').update(randomBytes(32)).digest('hex');
}

describe('projects, tokens and idempotency records', () => {
  let database: TestDatabase & { cleanup(): Promise<void> };
  let db: Kysely<Database>;
  let clusterId: string;
  let otherClusterId: string;

  const insertCluster = async (name: string) =>
    (
      await db
        .insertInto('clusters')
        .values({ name, api_server_url: 'https://127.0.0.1:6443', kubeconfig_encrypted: Buffer.from([1]) })
        .returning('id')
        .executeTakeFirstOrThrow()
    ).id;
  const insertProject = (name: string, namespace: string, cluster = clusterId) =>
    db.insertInto('projects').values({ name, namespace, cluster_id: cluster }).returning('id').executeTakeFirstOrThrow();
  const insertToken = (values: { hash?: string; prefix?: string; name?: string } = {}) =>
    db
      .insertInto('api_tokens')
      .values({ name: values.name ?? 'ci', token_hash: values.hash ?? tokenHash(), token_prefix: values.prefix ?? 'abcdEFGH' })
      .returning(['id', 'is_admin', 'last_used_at', 'revoked_at'])
      .executeTakeFirstOrThrow();

  beforeAll(async () => {
    database = await openTestDatabase();
    db = database.handle.db;
    await migrateToLatest(db);
    clusterId = await insertCluster('local');
    otherClusterId = await insertCluster('other');
  });
  afterAll(async () => {
    await database.cleanup();
  });

  it('keeps project names and (cluster, namespace) unique among live projects, reusable after delete', async () => {
    const first = await insertProject('team-a', 'team-a');

    const sameName = await rejection(insertProject('team-a', 'elsewhere'));
    expect(isUniqueViolation(sameName, CONSTRAINTS.projectName)).toBe(true);
    const sameNamespace = await rejection(insertProject('team-a2', 'team-a'));
    expect(isUniqueViolation(sameNamespace, CONSTRAINTS.projectNamespacePerCluster)).toBe(true);

    // The same namespace on another cluster is another project.
    await insertProject('team-a-other', 'team-a', otherClusterId);

    await db.updateTable('projects').set({ deleted_at: new Date() }).where('id', '=', first.id).execute();
    await insertProject('team-a', 'team-a');
  });

  it('accepts only DNS labels as project names and namespaces', async () => {
    for (const [name, namespace] of [
      ['Team', 'ok'],
      ['1team', 'ok'],
      ['team-', 'ok'],
      ['ok-name', 'Bad'],
      ['ok-name', 'a'.repeat(64)],
      ['ok-name', 'ns_1'],
    ] as const) {
      const error = await rejection(insertProject(name, namespace));
      expect(error.code, `${name} / ${namespace}`).toBe(CHECK_VIOLATION);
    }
    // A namespace may start with a digit (RFC 1123), a project name may not (RFC 1035).
    await insertProject('digits', '1st-namespace');
  });

  it('refuses a project on a cluster that does not exist', async () => {
    const error = await rejection(insertProject('ghost', 'ghost', '00000000-0000-4000-8000-000000000000'));
    expect(error.code).toBe(FOREIGN_KEY_VIOLATION);
  });

  it('stores each token hash once, as 64 hex characters, with an 8-character prefix', async () => {
    const hash = tokenHash();
    const token = await insertToken({ hash });
    expect(token).toEqual({ id: expect.any(String), is_admin: false, last_used_at: null, revoked_at: null });

    const duplicate = await rejection(insertToken({ hash }));
    expect(isUniqueViolation(duplicate, CONSTRAINTS.apiTokenHash)).toBe(true);

    expect((await rejection(insertToken({ hash: 'not-a-hash' }))).code).toBe(CHECK_VIOLATION);
    expect((await rejection(insertToken({ hash: hash.toUpperCase() }))).code).toBe(CHECK_VIOLATION);
    expect((await rejection(insertToken({ prefix: 'short' }))).code).toBe(CHECK_VIOLATION);
    expect((await rejection(insertToken({ name: '' }))).code).toBe(CHECK_VIOLATION);
  });

  it('links tokens to projects once each, and drops the links with the token', async () => {
    const project = await insertProject('linked', 'linked');
    const token = await insertToken();
    await db.insertInto('api_token_projects').values({ token_id: token.id, project_id: project.id }).execute();

    const twice = await rejection(db.insertInto('api_token_projects').values({ token_id: token.id, project_id: project.id }).execute());
    expect(isUniqueViolation(twice, CONSTRAINTS.apiTokenProject)).toBe(true);
    const ghost = await rejection(
      db.insertInto('api_token_projects').values({ token_id: token.id, project_id: '00000000-0000-4000-8000-000000000000' }).execute(),
    );
    expect(ghost.code).toBe(FOREIGN_KEY_VIOLATION);

    await db.deleteFrom('api_tokens').where('id', '=', token.id).execute();
    const links = await db.selectFrom('api_token_projects').selectAll().where('token_id', '=', token.id).execute();
    expect(links).toEqual([]);
  });

  it('keeps one idempotency record per (principal, key)', async () => {
    const record = (principal: string, statusCode = 201) => ({
      principal,
      key: 'retry-1',
      method: 'POST',
      path: '/apps',
      request_hash: 'h',
      status_code: statusCode,
      response: JSON.stringify({ id: 'x' }),
    });
    await db.insertInto('idempotency_records').values(record('token-a')).execute();
    await db.insertInto('idempotency_records').values(record('token-b')).execute();
    const again = await rejection(db.insertInto('idempotency_records').values(record('token-a')).execute());
    expect(isUniqueViolation(again, CONSTRAINTS.idempotencyRecord)).toBe(true);
    expect((await rejection(db.insertInto('idempotency_records').values(record('token-c', 99)).execute())).code).toBe(CHECK_VIOLATION);

    const stored = await db.selectFrom('idempotency_records').select(['response', 'created_at']).where('principal', '=', 'token-a').executeTakeFirstOrThrow();
    expect(stored.response).toEqual({ id: 'x' });
    expect(stored.created_at).toBeInstanceOf(Date);
  });

  it('keeps app names unique per project among live apps', async () => {
    const projectA = await insertProject('apps-a', 'apps-a');
    const projectB = await insertProject('apps-b', 'apps-b', otherClusterId);
    const insertApp = (projectId: string | null, cluster = clusterId, name = 'hello') =>
      db
        .insertInto('apps')
        .values({ name, cluster_id: cluster, project_id: projectId, app_type: 'jar', strategy: 'rolling' })
        .returning('id')
        .executeTakeFirstOrThrow();

    const first = await insertApp(projectA.id);
    const clash = await rejection(insertApp(projectA.id, otherClusterId));
    expect(isUniqueViolation(clash, CONSTRAINTS.appNamePerProject)).toBe(true);
    await insertApp(projectB.id, otherClusterId);

    await db.updateTable('apps').set({ deleted_at: new Date(), status: 'deleted' }).where('id', '=', first.id).execute();
    await insertApp(projectA.id);

    const unknownProject = await rejection(insertApp('00000000-0000-4000-8000-000000000000', clusterId, 'orphan'));
    expect(unknownProject.code).toBe(FOREIGN_KEY_VIOLATION);
  });
});
