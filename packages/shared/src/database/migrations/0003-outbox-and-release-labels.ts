import { sql, type Kysely } from 'kysely';

// Frozen in time: imports nothing from the application.

export async function up(db: Kysely<any>): Promise<void> {
  // The transactional outbox: a command is written here in the same transaction as the desired state it
  // belongs to, then published; a relay republishes what a crash left unpublished. The id is the CloudEvent
  // id and the Nats-Msg-Id, so a republish is dropped by the stream.
  await db.schema
    .createTable('outbox')
    .addColumn('id', 'text', (col) => col.primaryKey())
    .addColumn('subject', 'text', (col) => col.notNull())
    .addColumn('type', 'text', (col) => col.notNull())
    .addColumn('event', 'jsonb', (col) => col.notNull())
    .addColumn('created_at', 'timestamptz', (col) => col.notNull().defaultTo(sql`now()`))
    .addColumn('published_at', 'timestamptz')
    .addColumn('attempts', 'integer', (col) => col.notNull().defaultTo(0))
    .addColumn('last_error', 'text')
    .execute();
  await sql`create index outbox_unpublished on outbox (created_at) where published_at is null`.execute(db);

  // The version a person gave ("v1", "1.4.2"), beside the sequence number the platform counts.
  await db.schema.alterTable('releases').addColumn('version_label', 'text').execute();
  await sql`update releases set version_label = 'v' || version where version_label is null`.execute(db);
  await sql`alter table releases alter column version_label set not null`.execute(db);
  await db.schema.alterTable('releases').addUniqueConstraint('releases_app_version_label_unique', ['app_id', 'version_label']).execute();

  // App secret values of a release, encrypted by the platform's secret box (never in `spec`).
  await db.schema.alterTable('releases').addColumn('secrets_encrypted', 'bytea').execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('releases').dropColumn('secrets_encrypted').execute();
  await db.schema.alterTable('releases').dropConstraint('releases_app_version_label_unique').execute();
  await db.schema.alterTable('releases').dropColumn('version_label').execute();
  await db.schema.dropTable('outbox').execute();
}
