import { sql, type Kysely } from 'kysely';

// Frozen in time: imports nothing from the application.

// App names were unique per cluster; with projects (a namespace each) they are unique per project, so two
// projects on one cluster may both have `orders`, and one project's 409 no longer reveals the other's app.
// Apps without a project (admin-only) stay unique per cluster.
export async function up(db: Kysely<any>): Promise<void> {
  await sql`drop index apps_cluster_name_unique`.execute(db);
  await sql`create unique index apps_cluster_name_unique on apps (cluster_id, name) where deleted_at is null and project_id is null`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`drop index apps_cluster_name_unique`.execute(db);
  await sql`create unique index apps_cluster_name_unique on apps (cluster_id, name) where deleted_at is null`.execute(db);
}
