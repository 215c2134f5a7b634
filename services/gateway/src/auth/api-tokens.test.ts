import { createHash, randomUUID } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConflictError, createDatabase, createLogger, createSecretBox, DEV_SECRET_KEY, InputError, migrateToLatest, type Database, type DatabaseHandle } from '@appserving/shared';
import { createThrowawayDatabase } from '@appserving/shared/testing';
import { sql, type Kysely } from 'kysely';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { testKubeconfig } from '../domain/kubeconfig.fixtures.ts';
import { prepareAccess } from './access-startup.ts';
import { authenticateToken, bootstrapAdminToken, createApiToken, hashApiToken, LAST_USED_RESOLUTION_MS, revokeApiToken } from './api-tokens.ts';

const databaseServer = process.env.APPSERVING_TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

let throwaway: { url: string; drop(): Promise<void> };
let database: DatabaseHandle;
let db: Kysely<Database>;

beforeAll(async () => {
  throwaway = await createThrowawayDatabase(databaseServer);
  database = createDatabase({ url: throwaway.url, poolMax: 8, onPoolError: () => {} });
  db = database.db;
  await migrateToLatest(db);
});

afterAll(async () => {
  await database?.close();
  await throwaway?.drop();
});

afterEach(async () => {
  await db.deleteFrom('api_tokens').execute();
});

async function newProject(name: string, deleted = false): Promise<string> {
  const cluster = await db
    .insertInto('clusters')
    .values({ name: `c-${name}`, api_server_url: 'https://127.0.0.1:6443', kubeconfig_encrypted: Buffer.from([1]) })
    .returning('id')
    .executeTakeFirstOrThrow();
  const project = await db
    .insertInto('projects')
    .values({ name, cluster_id: cluster.id, namespace: name, deleted_at: deleted ? new Date() : null })
    .returning('id')
    .executeTakeFirstOrThrow();
  return project.id;
}

describe('bootstrapAdminToken', () => {
  it('stores the configured token hashed, once, and then leaves the table alone', async () => {
    const configured = `cfg-${randomUUID()}-${randomUUID()}`;
    const announced: string[] = [];
    expect(await bootstrapAdminToken(db, { configured, announce: (t) => announced.push(t) })).toEqual({ outcome: 'configured', tokenId: expect.any(String) });
    expect(announced).toEqual([]);

    const rows = await sql<{ row: string }>`select t::text as row from api_tokens t`.execute(db);
    expect(rows.rows).toHaveLength(1);
    expect(rows.rows[0]?.row).not.toContain(configured);
    const stored = await db.selectFrom('api_tokens').selectAll().executeTakeFirstOrThrow();
    expect(stored.token_hash).toBe(createHash('sha256').update(configured).digest('hex'));
    expect(stored.is_admin).toBe(true);

    expect(await authenticateToken(db, configured)).toEqual({ tokenId: stored.id, isAdmin: true, projectIds: [] });
    // A later start with another configured token changes nothing: an admin token exists.
    expect(await bootstrapAdminToken(db, { configured: `other-${randomUUID()}${randomUUID()}` })).toEqual({ outcome: 'existing' });
    expect(await db.selectFrom('api_tokens').select('id').execute()).toHaveLength(1);
  });

  it('generates a token when none is configured and hands it over once, after commit', async () => {
    const announced: string[] = [];
    const result = await bootstrapAdminToken(db, { announce: (t) => announced.push(t) });
    expect(result.outcome).toBe('generated');
    expect(announced).toHaveLength(1);
    const token = announced[0] ?? '';
    expect(token).toMatch(/^aps_[A-Za-z0-9_-]{43}$/);
    expect((await authenticateToken(db, token))?.isAdmin).toBe(true);
    const stored = await db.selectFrom('api_tokens').select(['token_hash', 'token_prefix']).executeTakeFirstOrThrow();
    expect(stored).toEqual({ token_hash: hashApiToken(token), token_prefix: token.slice(4, 12) });
  });

  it('creates exactly one admin token when replicas start together', async () => {
    const announced: string[] = [];
    const results = await Promise.all(Array.from({ length: 5 }, () => bootstrapAdminToken(db, { announce: (t) => announced.push(t) })));
    expect(results.filter((r) => r.outcome === 'generated')).toHaveLength(1);
    expect(announced).toHaveLength(1);
    expect(await db.selectFrom('api_tokens').select('id').execute()).toHaveLength(1);
  });

  it('refuses a configured token that was revoked rather than bringing it back', async () => {
    const configured = `revoked-${randomUUID()}${randomUUID()}`;
    await db.insertInto('api_tokens').values({ name: 'old', token_hash: hashApiToken(configured), token_prefix: 'revoked-', is_admin: true, revoked_at: new Date() }).execute();
    await expect(bootstrapAdminToken(db, { configured })).rejects.toThrow(/APPSERVING_ADMIN_TOKEN is a token that was revoked/);
  });
});

describe('API tokens', () => {
  it('scopes a token to its live projects', async () => {
    const [a, b, gone] = [await newProject('scope-a'), await newProject('scope-b'), await newProject('scope-gone')];
    const created = await createApiToken(db, { name: 'ci', admin: false, projectIds: [a, b, a] });
    expect(created.project_ids).toEqual([a, b]);
    expect(created.token).toMatch(/^aps_/);
    expect(created.token_prefix).toBe(created.token.slice(4, 12));

    expect(await authenticateToken(db, created.token)).toEqual({ tokenId: created.id, isAdmin: false, projectIds: [a, b].toSorted() });
    await db.updateTable('projects').set({ deleted_at: new Date() }).where('id', '=', b).execute();
    expect((await authenticateToken(db, created.token))?.projectIds).toEqual([a]);

    await db.updateTable('projects').set({ deleted_at: new Date() }).where('id', '=', gone).execute();
    const refused = await createApiToken(db, { name: 'x', admin: false, projectIds: [a, gone] }).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(InputError);
    expect(refused).toMatchObject({ code: 'project_not_found', details: { field: 'project_ids', missing: [gone] } });
  });

  it('refuses a scoped token without projects and an admin token with projects', async () => {
    await expect(createApiToken(db, { name: 'x', admin: false, projectIds: [] })).rejects.toMatchObject({ code: 'project_ids_required' });
    await expect(createApiToken(db, { name: 'x', admin: true, projectIds: [randomUUID()] })).rejects.toMatchObject({ code: 'admin_token_scoped' });
  });

  it('does not know unknown or revoked tokens', async () => {
    expect(await authenticateToken(db, 'aps_unknown')).toBeUndefined();
    const admin = await createApiToken(db, { name: 'a1', admin: true, projectIds: [] });
    const second = await createApiToken(db, { name: 'a2', admin: true, projectIds: [] });
    await revokeApiToken(db, admin.id);
    await revokeApiToken(db, admin.id);
    expect(await authenticateToken(db, admin.token)).toBeUndefined();
    expect(await authenticateToken(db, second.token)).toBeDefined();
    await expect(revokeApiToken(db, randomUUID())).rejects.toMatchObject({ code: 'token_not_found' });
  });

  it('refuses to revoke the last admin token', async () => {
    const only = await createApiToken(db, { name: 'only', admin: true, projectIds: [] });
    const refused = await revokeApiToken(db, only.id).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(ConflictError);
    expect(refused).toMatchObject({ code: 'last_admin_token' });
    expect(await authenticateToken(db, only.token)).toBeDefined();
  });

  it('records last use at most once per minute', async () => {
    const token = await createApiToken(db, { name: 'busy', admin: true, projectIds: [] });
    const lastUsed = async () => (await db.selectFrom('api_tokens').select('last_used_at').where('id', '=', token.id).executeTakeFirstOrThrow()).last_used_at;
    const t0 = new Date('2026-01-01T10:00:00.000Z');
    await authenticateToken(db, token.token, t0);
    expect(await lastUsed()).toEqual(t0);

    await authenticateToken(db, token.token, new Date(t0.getTime() + 1_000));
    await authenticateToken(db, token.token, new Date(t0.getTime() + LAST_USED_RESOLUTION_MS - 1));
    expect(await lastUsed()).toEqual(t0);

    const t1 = new Date(t0.getTime() + LAST_USED_RESOLUTION_MS);
    await authenticateToken(db, token.token, t1);
    expect(await lastUsed()).toEqual(t1);
  });
});

describe('prepareAccess', () => {
  it('bootstraps the admin token and the local cluster, warning about the development key, with no secret in the log', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'appserving-access-'));
    const lines: string[] = [];
    const log = createLogger({ service: 'gateway-test', level: 'trace', destination: { write: (line: string) => lines.push(line) } });
    try {
      const kubeconfig = testKubeconfig();
      const path = join(dir, 'kubeconfig.yaml');
      await writeFile(path, kubeconfig.text);
      const announced: string[] = [];
      const box = createSecretBox([DEV_SECRET_KEY]);
      const result = await prepareAccess({
        db,
        box,
        config: { adminToken: '', localClusterKubeconfig: path, localClusterPrometheusUrl: '', localClusterPlacement: {} },
        log,
        developmentKey: true,
        announce: (token) => announced.push(token),
      });
      expect(result).toEqual({ admin: 'generated', localClusterId: expect.any(String) });
      expect(announced).toHaveLength(1);
      const again = await prepareAccess({ db, box, config: { adminToken: '', localClusterKubeconfig: path, localClusterPrometheusUrl: '', localClusterPlacement: {} }, log, developmentKey: true });
      expect(again).toEqual({ admin: 'existing', localClusterId: result.localClusterId });

      const text = lines.join('\n');
      expect(text).toContain('public development key');
      expect(text).toContain('local cluster registered');
      expect(text).not.toContain(announced[0]);
      for (const secret of kubeconfig.secrets) expect(text).not.toContain(secret);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
