// Frozen in time: this file describes the schema as it was when it landed. It imports nothing but kysely
// and hard-codes its own copy of every closed set, so later changes to the application code can never
// change what this migration does. A schema change is a new migration file, never an edit to this one.
import { sql } from 'kysely';
import type { Kysely, RawBuilder } from 'kysely';

const APP_TYPES = ['jar', 'war', 'python'];
const TASK_TYPES = ['build', 'deploy', 'all'];
const STRATEGIES = ['rolling', 'canary', 'blue-green'];
const APP_STATUSES = ['pending', 'deploying', 'running', 'degraded', 'failed', 'deleting', 'deleted'];
const RELEASE_STATUSES = [
  'pending',
  'building',
  'built',
  'deploying',
  'progressing',
  'waiting-promotion',
  'promoting',
  'succeeded',
  'failed',
  'aborted',
  'rolled-back',
  'superseded',
];
const OPERATION_KINDS = ['create', 'update', 'rollback', 'promote', 'abort', 'delete'];
const OPERATION_STATUSES = ['pending', 'running', 'succeeded', 'failed'];

/** `column in ('a', 'b', ...)` for a CHECK constraint. */
function oneOf(column: string, values: readonly string[]): RawBuilder<unknown> {
  return sql`${sql.ref(column)} in (${sql.join(values.map((value) => sql.lit(value)))})`;
}

export async function up(db: Kysely<any>): Promise<void> {
  // Keeps updated_at honest whichever writer (gateway or watcher) touches a row.
  await sql`
    create function appserving_set_updated_at() returns trigger
    language plpgsql as $$
    begin
      new.updated_at := now();
      return new;
    end
    $$`.execute(db);

  await db.schema
    .createTable('clusters')
    .addColumn('id', 'uuid', (col) => col.primaryKey().defaultTo(sql`gen_random_uuid()`))
    .addColumn('name', 'text', (col) => col.notNull())
    .addColumn('api_server_url', 'text', (col) => col.notNull())
    .addColumn('kubeconfig_encrypted', 'bytea', (col) => col.notNull())
    .addColumn('is_default', 'boolean', (col) => col.notNull().defaultTo(false))
    .addColumn('created_at', 'timestamptz', (col) => col.notNull().defaultTo(sql`now()`))
    .addColumn('updated_at', 'timestamptz', (col) => col.notNull().defaultTo(sql`now()`))
    .addColumn('deleted_at', 'timestamptz')
    .addCheckConstraint('clusters_name_check', sql`char_length(name) between 1 and 100`)
    .execute();
  // Soft-deleted clusters keep their row (apps' history points at it), so a name may be reused.
  await db.schema
    .createIndex('clusters_name_unique')
    .on('clusters')
    .column('name')
    .unique()
    .where(sql.ref('deleted_at'), 'is', null)
    .execute();
  await sql`
    create unique index clusters_one_default on clusters ((true))
    where is_default and deleted_at is null`.execute(db);

  await db.schema
    .createTable('apps')
    .addColumn('id', 'uuid', (col) => col.primaryKey().defaultTo(sql`gen_random_uuid()`))
    .addColumn('name', 'text', (col) => col.notNull())
    .addColumn('cluster_id', 'uuid', (col) => col.notNull().references('clusters.id'))
    .addColumn('app_type', 'text', (col) => col.notNull())
    .addColumn('strategy', 'text', (col) => col.notNull())
    // Foreign key added below, once releases exists.
    .addColumn('current_release_id', 'uuid')
    .addColumn('status', 'text', (col) => col.notNull().defaultTo('pending'))
    .addColumn('created_at', 'timestamptz', (col) => col.notNull().defaultTo(sql`now()`))
    .addColumn('updated_at', 'timestamptz', (col) => col.notNull().defaultTo(sql`now()`))
    .addColumn('deleted_at', 'timestamptz')
    // An RFC 1035 label: it becomes the helm release and Kubernetes object names.
    .addCheckConstraint('apps_name_check', sql`name ~ '^[a-z]([-a-z0-9]{0,61}[a-z0-9])?$'`)
    .addCheckConstraint('apps_app_type_check', oneOf('app_type', APP_TYPES))
    .addCheckConstraint('apps_strategy_check', oneOf('strategy', STRATEGIES))
    .addCheckConstraint('apps_status_check', oneOf('status', APP_STATUSES))
    .execute();
  await db.schema
    .createIndex('apps_cluster_name_unique')
    .on('apps')
    .columns(['cluster_id', 'name'])
    .unique()
    .where(sql.ref('deleted_at'), 'is', null)
    .execute();

  await db.schema
    .createTable('releases')
    .addColumn('id', 'uuid', (col) => col.primaryKey().defaultTo(sql`gen_random_uuid()`))
    .addColumn('app_id', 'uuid', (col) => col.notNull().references('apps.id'))
    .addColumn('version', 'integer', (col) => col.notNull())
    .addColumn('task_type', 'text', (col) => col.notNull())
    .addColumn('spec', 'jsonb', (col) => col.notNull())
    .addColumn('image_ref', 'text')
    .addColumn('image_digest', 'text')
    .addColumn('helm_revision', 'integer')
    .addColumn('strategy', 'text', (col) => col.notNull())
    .addColumn('status', 'text', (col) => col.notNull().defaultTo('pending'))
    .addColumn('status_reason', 'text')
    .addColumn('diagnosis', 'jsonb')
    .addColumn('created_at', 'timestamptz', (col) => col.notNull().defaultTo(sql`now()`))
    .addColumn('updated_at', 'timestamptz', (col) => col.notNull().defaultTo(sql`now()`))
    .addColumn('finished_at', 'timestamptz')
    .addUniqueConstraint('releases_app_version_unique', ['app_id', 'version'])
    .addCheckConstraint('releases_version_check', sql`version > 0`)
    .addCheckConstraint('releases_helm_revision_check', sql`helm_revision > 0`)
    .addCheckConstraint('releases_image_digest_check', sql`image_digest ~ '^[a-z0-9]+([+._-][a-z0-9]+)*:[a-zA-Z0-9=_-]+$'`)
    .addCheckConstraint('releases_spec_check', sql`jsonb_typeof(spec) = 'object'`)
    .addCheckConstraint('releases_task_type_check', oneOf('task_type', TASK_TYPES))
    .addCheckConstraint('releases_strategy_check', oneOf('strategy', STRATEGIES))
    .addCheckConstraint('releases_status_check', oneOf('status', RELEASE_STATUSES))
    .execute();

  await db.schema
    .alterTable('apps')
    .addForeignKeyConstraint('apps_current_release_id_fkey', ['current_release_id'], 'releases', ['id'])
    .execute();

  await db.schema
    .createTable('operations')
    .addColumn('id', 'uuid', (col) => col.primaryKey().defaultTo(sql`gen_random_uuid()`))
    .addColumn('app_id', 'uuid', (col) => col.notNull().references('apps.id'))
    .addColumn('release_id', 'uuid', (col) => col.references('releases.id'))
    .addColumn('kind', 'text', (col) => col.notNull())
    .addColumn('status', 'text', (col) => col.notNull().defaultTo('pending'))
    .addColumn('command_id', 'text', (col) => col.notNull())
    .addColumn('idempotency_key', 'text')
    .addColumn('request_hash', 'text')
    .addColumn('response', 'jsonb')
    .addColumn('created_at', 'timestamptz', (col) => col.notNull().defaultTo(sql`now()`))
    .addColumn('finished_at', 'timestamptz')
    .addUniqueConstraint('operations_command_id_unique', ['command_id'])
    .addCheckConstraint('operations_kind_check', oneOf('kind', OPERATION_KINDS))
    .addCheckConstraint('operations_status_check', oneOf('status', OPERATION_STATUSES))
    .addCheckConstraint(
      'operations_finished_at_check',
      sql`(status in ('succeeded', 'failed')) = (finished_at is not null)`,
    )
    .execute();
  // The single-flight guard: a second pending/running operation for an app is a unique violation,
  // which the gateway turns into a 409 naming the operation in flight.
  await db.schema
    .createIndex('operations_one_active_per_app')
    .on('operations')
    .column('app_id')
    .unique()
    .where(sql<boolean>`status in ('pending', 'running')`)
    .execute();
  await db.schema
    .createIndex('operations_idempotency_key_unique')
    .on('operations')
    .column('idempotency_key')
    .unique()
    .where(sql.ref('idempotency_key'), 'is not', null)
    .execute();
  await db.schema.createIndex('operations_app_id_created_at').on('operations').columns(['app_id', 'created_at']).execute();

  // No foreign keys: the timeline is an append-only log of events, written in the order they arrive,
  // and must not depend on the read-model rows having been written first.
  await db.schema
    .createTable('timeline')
    .addColumn('id', 'bigserial', (col) => col.primaryKey())
    .addColumn('event_id', 'text', (col) => col.notNull())
    .addColumn('app_id', 'uuid', (col) => col.notNull())
    .addColumn('release_id', 'uuid')
    .addColumn('type', 'text', (col) => col.notNull())
    .addColumn('source', 'text', (col) => col.notNull())
    .addColumn('subject', 'text')
    .addColumn('occurred_at', 'timestamptz', (col) => col.notNull())
    .addColumn('recorded_at', 'timestamptz', (col) => col.notNull().defaultTo(sql`now()`))
    .addColumn('data', 'jsonb', (col) => col.notNull().defaultTo(sql`'{}'::jsonb`))
    .addUniqueConstraint('timeline_event_id_unique', ['event_id'])
    .execute();
  await db.schema.createIndex('timeline_app_id_id').on('timeline').columns(['app_id', 'id']).execute();

  for (const table of ['clusters', 'apps', 'releases']) {
    await sql`
      create trigger ${sql.id(`${table}_set_updated_at`)} before update on ${sql.table(table)}
      for each row execute function appserving_set_updated_at()`.execute(db);
  }
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('timeline').execute();
  await db.schema.dropTable('operations').execute();
  await db.schema.alterTable('apps').dropConstraint('apps_current_release_id_fkey').execute();
  await db.schema.dropTable('releases').execute();
  await db.schema.dropTable('apps').execute();
  await db.schema.dropTable('clusters').execute();
  await sql`drop function appserving_set_updated_at()`.execute(db);
}
