// Frozen in time: this file describes the schema as it was when it landed. It imports nothing but kysely,
// so later changes to the application code can never change what this migration does.
import { sql } from 'kysely';
import type { Kysely } from 'kysely';

// A project name is an RFC 1035 label (like app names); a namespace is what Kubernetes accepts, an RFC 1123
// label (it may start with a digit).
const PROJECT_NAME = '^[a-z]([-a-z0-9]{0,61}[a-z0-9])?$';
const NAMESPACE = '^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$';

export async function up(db: Kysely<any>): Promise<void> {
  // A project is one namespace on one cluster; tokens are scoped to projects, apps belong to one.
  await db.schema
    .createTable('projects')
    .addColumn('id', 'uuid', (col) => col.primaryKey().defaultTo(sql`gen_random_uuid()`))
    .addColumn('name', 'text', (col) => col.notNull())
    .addColumn('cluster_id', 'uuid', (col) => col.notNull().references('clusters.id'))
    .addColumn('namespace', 'text', (col) => col.notNull())
    .addColumn('created_at', 'timestamptz', (col) => col.notNull().defaultTo(sql`now()`))
    .addColumn('deleted_at', 'timestamptz')
    .addCheckConstraint('projects_name_check', sql`name ~ ${sql.lit(PROJECT_NAME)}`)
    .addCheckConstraint('projects_namespace_check', sql`namespace ~ ${sql.lit(NAMESPACE)}`)
    .execute();
  await db.schema
    .createIndex('projects_name_unique')
    .on('projects')
    .column('name')
    .unique()
    .where(sql.ref('deleted_at'), 'is', null)
    .execute();
  // Two projects sharing a namespace would see each other's apps on the cluster.
  await db.schema
    .createIndex('projects_cluster_namespace_unique')
    .on('projects')
    .columns(['cluster_id', 'namespace'])
    .unique()
    .where(sql.ref('deleted_at'), 'is', null)
    .execute();

  // Only a hash of each token is kept. Tokens are 32 random bytes (256 bits), so a fast hash is enough: a
  // slow KDF (bcrypt, scrypt, argon2) protects guessable secrets such as passwords, and nobody can enumerate
  // 2^256 candidates. A fast, deterministic hash also lets a request find its token by an indexed lookup.
  await db.schema
    .createTable('api_tokens')
    .addColumn('id', 'uuid', (col) => col.primaryKey().defaultTo(sql`gen_random_uuid()`))
    .addColumn('name', 'text', (col) => col.notNull())
    .addColumn('token_hash', 'text', (col) => col.notNull())
    .addColumn('token_prefix', 'text', (col) => col.notNull())
    .addColumn('is_admin', 'boolean', (col) => col.notNull().defaultTo(false))
    .addColumn('created_at', 'timestamptz', (col) => col.notNull().defaultTo(sql`now()`))
    .addColumn('last_used_at', 'timestamptz')
    .addColumn('revoked_at', 'timestamptz')
    .addUniqueConstraint('api_tokens_token_hash_unique', ['token_hash'])
    .addCheckConstraint('api_tokens_name_check', sql`char_length(name) between 1 and 100`)
    .addCheckConstraint('api_tokens_token_hash_check', sql`token_hash ~ '^[0-9a-f]{64}$'`)
    .addCheckConstraint('api_tokens_token_prefix_check', sql`char_length(token_prefix) = 8`)
    .execute();

  await db.schema
    .createTable('api_token_projects')
    .addColumn('token_id', 'uuid', (col) => col.notNull().references('api_tokens.id').onDelete('cascade'))
    .addColumn('project_id', 'uuid', (col) => col.notNull().references('projects.id'))
    .addPrimaryKeyConstraint('api_token_projects_pkey', ['token_id', 'project_id'])
    .execute();
  await db.schema.createIndex('api_token_projects_project_id').on('api_token_projects').column('project_id').execute();

  // HTTP Idempotency-Key replays, per caller: the same key from two tokens is two different requests.
  await db.schema
    .createTable('idempotency_records')
    .addColumn('principal', 'text', (col) => col.notNull())
    .addColumn('key', 'text', (col) => col.notNull())
    .addColumn('method', 'text', (col) => col.notNull())
    .addColumn('path', 'text', (col) => col.notNull())
    .addColumn('request_hash', 'text', (col) => col.notNull())
    .addColumn('status_code', 'integer', (col) => col.notNull())
    .addColumn('response', 'jsonb', (col) => col.notNull())
    .addColumn('created_at', 'timestamptz', (col) => col.notNull().defaultTo(sql`now()`))
    .addPrimaryKeyConstraint('idempotency_records_pkey', ['principal', 'key'])
    .addCheckConstraint('idempotency_records_status_code_check', sql`status_code between 100 and 599`)
    .execute();
  // Expiry sweeps delete by age.
  await db.schema.createIndex('idempotency_records_created_at').on('idempotency_records').column('created_at').execute();

  // Null for apps created before projects existed; only admin tokens see those.
  await db.schema.alterTable('apps').addColumn('project_id', 'uuid', (col) => col.references('projects.id')).execute();
  await db.schema
    .createIndex('apps_project_name_unique')
    .on('apps')
    .columns(['project_id', 'name'])
    .unique()
    .where(sql.ref('deleted_at'), 'is', null)
    .execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropIndex('apps_project_name_unique').execute();
  await db.schema.alterTable('apps').dropColumn('project_id').execute();
  await db.schema.dropTable('idempotency_records').execute();
  await db.schema.dropTable('api_token_projects').execute();
  await db.schema.dropTable('api_tokens').execute();
  await db.schema.dropTable('projects').execute();
}
