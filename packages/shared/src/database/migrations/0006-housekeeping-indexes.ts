import { sql, type Kysely } from 'kysely';

// Frozen in time: imports nothing from the application.

// Published outbox entries are deleted once they are old (the gateway's housekeeping): this index finds them
// without scanning the table. (Idempotency records have their created_at index since 0002.)
export async function up(db: Kysely<any>): Promise<void> {
  await sql`create index outbox_published_at on outbox (published_at) where published_at is not null`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropIndex('outbox_published_at').execute();
}
