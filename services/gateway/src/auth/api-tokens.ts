import { createHash, randomBytes } from 'node:crypto';
import { ConflictError, InputError, NotFoundError, type Database } from '@appserving/shared';
import { sql, type Kysely } from 'kysely';
import type { Principal } from './principal.ts';

/**
 * API tokens: `aps_` + 32 random bytes in base64url (47 characters). The prefix makes a leaked token easy to
 * recognise (secret scanners, logs); only the sha256 of the whole token is stored.
 *
 * Why sha256 and not bcrypt/scrypt/argon2: a slow KDF protects guessable secrets such as passwords. A token of
 * 256 random bits cannot be guessed whatever the hash speed, and a fast, deterministic hash lets a request find
 * its token with one indexed lookup instead of trying every row.
 *
 * Why no constant-time comparison: the secret is never compared byte by byte. The database looks up the hash of
 * what the caller sent; timing could at most tell an attacker how the *hash* of their guess relates to stored
 * hashes, and steering a guess towards a chosen hash would need a sha256 preimage.
 */
export const TOKEN_PREFIX = 'aps_';
const TOKEN_BYTES = 32;
/** `last_used_at` is written at most this often per token, so authentication costs no write per request. */
export const LAST_USED_RESOLUTION_MS = 60_000;

export function generateApiToken(): string {
  return TOKEN_PREFIX + randomBytes(TOKEN_BYTES).toString('base64url');
}

export function hashApiToken(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}

/** What lists show to recognise a token: 8 characters of its random part (48 of its 256 bits). */
export function tokenPrefixOf(token: string): string {
  const body = token.startsWith(TOKEN_PREFIX) ? token.slice(TOKEN_PREFIX.length) : token;
  return body.slice(0, 8);
}

export interface CreatedApiToken {
  id: string;
  name: string;
  /** The plaintext token: returned here once, never stored, never shown again. */
  token: string;
  token_prefix: string;
  is_admin: boolean;
  project_ids: string[];
  created_at: Date;
}

/** Creates a token scoped to `projectIds` (non-admin) or to everything (admin, `projectIds` empty). */
export async function createApiToken(
  db: Kysely<Database>,
  request: { name: string; admin: boolean; projectIds: readonly string[] },
): Promise<CreatedApiToken> {
  const projectIds = [...new Set(request.projectIds)];
  if (request.admin && projectIds.length > 0) {
    throw new InputError('admin_token_scoped', 'an admin token reaches every project: leave project_ids empty', { details: { field: 'project_ids' } });
  }
  if (!request.admin && projectIds.length === 0) {
    throw new InputError('project_ids_required', 'a token that is not an admin token needs at least one project in project_ids', {
      details: { field: 'project_ids' },
    });
  }
  const token = generateApiToken();
  return db.transaction().execute(async (trx) => {
    if (projectIds.length > 0) {
      // Lock the projects so that none is deleted between this check and the insert.
      const found = await trx.selectFrom('projects').select('id').where('id', 'in', projectIds).where('deleted_at', 'is', null).forShare().execute();
      const missing = projectIds.filter((id) => !found.some((row) => row.id === id));
      if (missing.length > 0) {
        throw new InputError('project_not_found', `no project with id ${missing.join(', ')}`, { details: { field: 'project_ids', missing } });
      }
    }
    const row = await trx
      .insertInto('api_tokens')
      .values({ name: request.name, token_hash: hashApiToken(token), token_prefix: tokenPrefixOf(token), is_admin: request.admin })
      .returning(['id', 'name', 'token_prefix', 'is_admin', 'created_at'])
      .executeTakeFirstOrThrow();
    if (projectIds.length > 0) {
      await trx
        .insertInto('api_token_projects')
        .values(projectIds.map((projectId) => ({ token_id: row.id, project_id: projectId })))
        .execute();
    }
    return { ...row, token, project_ids: projectIds };
  });
}

/**
 * The principal a presented token stands for, or undefined when it is unknown or revoked. Records the use
 * (`last_used_at`) at most once per `LAST_USED_RESOLUTION_MS`.
 */
export async function authenticateToken(db: Kysely<Database>, presented: string, now: Date = new Date()): Promise<Principal | undefined> {
  const token = await db
    .selectFrom('api_tokens')
    .select(['id', 'is_admin', 'last_used_at'])
    .where('token_hash', '=', hashApiToken(presented))
    .where('revoked_at', 'is', null)
    .executeTakeFirst();
  if (!token) return undefined;

  const projectIds = token.is_admin
    ? []
    : (
        await db
          .selectFrom('api_token_projects as tp')
          .innerJoin('projects as p', 'p.id', 'tp.project_id')
          .select('p.id')
          .where('tp.token_id', '=', token.id)
          .where('p.deleted_at', 'is', null)
          .orderBy('p.id')
          .execute()
      ).map((row) => row.id);

  if (token.last_used_at === null || now.getTime() - token.last_used_at.getTime() >= LAST_USED_RESOLUTION_MS) {
    // The condition repeats the check in the database, so concurrent requests (or replicas) write once.
    await db
      .updateTable('api_tokens')
      .set({ last_used_at: now })
      .where('id', '=', token.id)
      .where((eb) => eb.or([eb('last_used_at', 'is', null), eb('last_used_at', '<=', new Date(now.getTime() - LAST_USED_RESOLUTION_MS))]))
      .execute();
  }
  return { tokenId: token.id, isAdmin: token.is_admin, projectIds };
}

export interface ApiTokenView {
  id: string;
  name: string;
  token_prefix: string;
  is_admin: boolean;
  project_ids: string[];
  created_at: Date;
  last_used_at: Date | null;
  revoked_at: Date | null;
}

export async function listApiTokens(db: Kysely<Database>): Promise<ApiTokenView[]> {
  const tokens = await db
    .selectFrom('api_tokens')
    .select(['id', 'name', 'token_prefix', 'is_admin', 'created_at', 'last_used_at', 'revoked_at'])
    .orderBy('created_at')
    .orderBy('id')
    .execute();
  const links = await db.selectFrom('api_token_projects').select(['token_id', 'project_id']).orderBy('project_id').execute();
  return tokens.map((token) => ({ ...token, project_ids: links.filter((link) => link.token_id === token.id).map((link) => link.project_id) }));
}

/**
 * Revokes a token (idempotent). Refuses to revoke the last live admin token, which would leave nobody able to
 * manage the platform.
 */
export async function revokeApiToken(db: Kysely<Database>, tokenId: string): Promise<void> {
  await db.transaction().execute(async (trx) => {
    const token = await trx.selectFrom('api_tokens').select(['id', 'is_admin', 'revoked_at']).where('id', '=', tokenId).forUpdate().executeTakeFirst();
    if (!token) throw new NotFoundError('token_not_found', `no token with id ${tokenId}`);
    if (token.revoked_at !== null) return;
    if (token.is_admin) {
      // Serialises concurrent revocations of admin tokens, so two of them cannot each leave the other last.
      await sql`select pg_advisory_xact_lock(hashtext('appserving:admin-tokens'))`.execute(trx);
      const { count } = await trx
        .selectFrom('api_tokens')
        .select((eb) => eb.fn.countAll<string>().as('count'))
        .where('is_admin', '=', true)
        .where('revoked_at', 'is', null)
        .executeTakeFirstOrThrow();
      if (Number(count) <= 1) {
        throw new ConflictError('last_admin_token', 'this is the only admin token left: create another admin token before revoking it');
      }
    }
    await trx.updateTable('api_tokens').set({ revoked_at: new Date() }).where('id', '=', tokenId).execute();
  });
}

export type AdminBootstrap =
  | { outcome: 'existing' }
  | { outcome: 'configured'; tokenId: string }
  | { outcome: 'generated'; tokenId: string; token: string };

/**
 * At start-up: when no live admin token exists, stores `configured` (APPSERVING_ADMIN_TOKEN), hashed, or
 * else generates one and hands it to `announce` once the transaction has committed (the default prints it to
 * stderr, never to the log). Replicas starting together serialise on an advisory lock: one creates, the rest
 * find it.
 */
export async function bootstrapAdminToken(
  db: Kysely<Database>,
  options: { configured?: string; announce?: (token: string) => void } = {},
): Promise<AdminBootstrap> {
  const configured = options.configured === '' ? undefined : options.configured;
  const result = await db.transaction().execute(async (trx): Promise<AdminBootstrap> => {
    await sql`select pg_advisory_xact_lock(hashtext('appserving:admin-tokens'))`.execute(trx);
    const existing = await trx.selectFrom('api_tokens').select('id').where('is_admin', '=', true).where('revoked_at', 'is', null).executeTakeFirst();
    if (existing) return { outcome: 'existing' };
    const token = configured ?? generateApiToken();
    const hash = hashApiToken(token);
    const clash = await trx.selectFrom('api_tokens').select('id').where('token_hash', '=', hash).executeTakeFirst();
    if (clash) {
      throw new Error('APPSERVING_ADMIN_TOKEN is a token that was revoked or is not an admin token: set a new value, or unset it to have one generated');
    }
    const { id } = await trx
      .insertInto('api_tokens')
      .values({ name: 'bootstrap admin', token_hash: hash, token_prefix: tokenPrefixOf(token), is_admin: true })
      .returning('id')
      .executeTakeFirstOrThrow();
    return configured === undefined ? { outcome: 'generated', tokenId: id, token } : { outcome: 'configured', tokenId: id };
  });
  if (result.outcome === 'generated') (options.announce ?? announceOnStderr)(result.token);
  return result;
}

function announceOnStderr(token: string): void {
  process.stderr.write(
    [
      '',
      'AppServing: no admin API token existed, so one was created. It is shown this once and stored only as a hash:',
      '',
      `    ${token}`,
      '',
      'Send it as "Authorization: Bearer <token>"; create narrower tokens with POST /tokens.',
      'To choose the first admin token yourself, set APPSERVING_ADMIN_TOKEN before the first start.',
      '',
      '',
    ].join('\n'),
  );
}
