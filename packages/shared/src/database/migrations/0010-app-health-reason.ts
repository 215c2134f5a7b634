import type { Kysely } from 'kysely';

// Frozen in time: imports nothing from the application.

export async function up(db: Kysely<any>): Promise<void> {
  // Why the app is `degraded` (its live release lost pods, or its error ratio or latency crossed a health threshold,
  // with the measured value), written by the watcher with the status; null otherwise.
  await db.schema.alterTable('apps').addColumn('health_reason', 'text').execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('apps').dropColumn('health_reason').execute();
}
