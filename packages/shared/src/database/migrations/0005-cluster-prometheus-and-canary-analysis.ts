import { sql, type Kysely } from 'kysely';

// Frozen in time: imports nothing from the application.

export async function up(db: Kysely<any>): Promise<void> {
  // The Prometheus that canary analysis of a cluster's apps asks (Flagger's MetricTemplates name it, the watcher
  // queries it for the analysis record). Null: canary and blue/green analysis cannot run on that cluster.
  await db.schema.alterTable('clusters').addColumn('prometheus_url', 'text').execute();

  // The traffic weight on the release while a canary moves it (null outside canary analysis).
  await db.schema
    .alterTable('releases')
    .addColumn('canary_weight', 'integer', (col) => col.check(sql`canary_weight between 0 and 100`))
    .execute();

  // The canary analysis record: one row per analysis step the watcher observed, once by event id.
  await db.schema
    .createTable('canary_analysis')
    .addColumn('id', 'bigserial', (col) => col.primaryKey())
    .addColumn('event_id', 'text', (col) => col.notNull().unique())
    .addColumn('app_id', 'uuid', (col) => col.notNull())
    .addColumn('release_id', 'uuid', (col) => col.notNull().references('releases.id'))
    .addColumn('step', 'integer', (col) => col.notNull().check(sql`step > 0`))
    .addColumn('weight', 'integer', (col) => col.notNull().check(sql`weight between 0 and 100`))
    .addColumn('phase', 'text', (col) => col.notNull())
    .addColumn('verdict', 'text', (col) => col.notNull().check(sql`verdict in ('pass', 'fail', 'inconclusive')`))
    .addColumn('failed_checks', 'integer', (col) => col.notNull().defaultTo(0))
    .addColumn('metrics', 'jsonb', (col) => col.notNull().check(sql`jsonb_typeof(metrics) = 'array'`))
    .addColumn('observed_at', 'timestamptz', (col) => col.notNull())
    .addColumn('recorded_at', 'timestamptz', (col) => col.notNull().defaultTo(sql`now()`))
    .execute();
  await db.schema.createIndex('canary_analysis_release_step').on('canary_analysis').columns(['release_id', 'step']).execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('canary_analysis').execute();
  await db.schema.alterTable('releases').dropColumn('canary_weight').execute();
  await db.schema.alterTable('clusters').dropColumn('prometheus_url').execute();
}
