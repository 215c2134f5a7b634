import type { Kysely } from 'kysely';

// Frozen in time: imports nothing from the application.

export async function up(db: Kysely<any>): Promise<void> {
  // Where the pods of apps and builds on a cluster run: { node_selector?: {…}, tolerations?: […] } (a node pool, or
  // the local cluster's real node). Null: wherever the scheduler puts them.
  await db.schema.alterTable('clusters').addColumn('placement', 'jsonb').execute();
  // The URL at which people reach a release (its route on the cluster's traffic gateway), as the deployer applied
  // it. Null: the release is reachable inside its cluster only.
  await db.schema.alterTable('releases').addColumn('endpoint', 'text').execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('releases').dropColumn('endpoint').execute();
  await db.schema.alterTable('clusters').dropColumn('placement').execute();
}
