import { sql, type Kysely } from 'kysely';

// Frozen in time: imports nothing from the application.

// Idempotency records and published outbox entries are deleted once they are old (the gateway's housekeeping):
// these indexes let that find them without scanning the tables.
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.createIndex('idempotency_records_created_at').on('idempotency_records').column('created_at').execute();
  await sql`create index outbox_published_at on outbox (published_at) where published_at is not null`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropIndex('outbox_published_at').execute();
  await db.schema.dropIndex('idempotency_records_created_at').execute();
}
