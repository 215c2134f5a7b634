import type { Kysely } from 'kysely';

// Frozen in time: imports nothing from the application.

export async function up(db: Kysely<any>): Promise<void> {
  // The registries (`host[:port]` strings, a JSON array) the apps of a cluster may pull images from, besides the
  // platform's own registry. Null: any registry on a public address.
  await db.schema.alterTable('clusters').addColumn('image_registries', 'jsonb').execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('clusters').dropColumn('image_registries').execute();
}
