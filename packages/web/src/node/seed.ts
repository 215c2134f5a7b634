import { randomUUID } from 'node:crypto';
import type pg from 'pg';

/**
 * Data for the console's pages written straight into a gateway's database (the watcher's tables included), for
 * tests and figures that need many apps or a rich app page without a cluster. Nothing here runs anywhere.
 */
export async function seedCluster(db: pg.Client): Promise<{ clusterId: string; projects: { id: string; name: string }[] }> {
  const cluster = await db.query<{ id: string }>(
    `insert into clusters (name, api_server_url, kubeconfig_encrypted, is_default) values ('local', 'https://127.0.0.1:6443', '\\x00', true) returning id`,
  );
  const clusterId = cluster.rows[0]?.id as string;
  const projects = await db.query<{ id: string; name: string }>(
    `insert into projects (name, cluster_id, namespace) values ('payments', $1, 'payments'), ('catalog', $1, 'catalog'), ('shipping', $1, 'shipping') returning id, name`,
    [clusterId],
  );
  return { clusterId, projects: projects.rows };
}

/** `count` apps spread over the projects, each with one release, in two statements. */
export async function seedApps(db: pg.Client, clusterId: string, projects: { id: string }[], count: number): Promise<void> {
  await db.query(
    `with made as (
       insert into apps (name, cluster_id, project_id, app_type, strategy, status, created_at)
       select 'svc-' || lpad(i::text, 4, '0'), $1, ($2::uuid[])[1 + i % array_length($2::uuid[], 1)],
              (array['jar', 'war', 'python'])[1 + i % 3], (array['rolling', 'canary', 'blue-green'])[1 + i % 3],
              case when i % 17 = 0 then 'degraded' else 'running' end, now() - make_interval(mins => i)
       from generate_series(1, $3::int) i
       returning id, strategy, created_at)
     insert into releases (app_id, version, version_label, task_type, spec, strategy, status, image_ref, created_at, finished_at)
     select id, 1, 'v1', 'all', '{"port": 8080, "resource_spec": "small", "strategy": "rolling", "env": {}}'::jsonb, strategy,
            'succeeded', '127.0.0.1:5000/demo/app:v1', created_at, created_at + interval '40 seconds'
     from made`,
    [clusterId, projects.map((p) => p.id), count],
  );
}

/**
 * One app with a full story: v1 succeeded, v2 failed with a diagnosis, v3 a canary waiting at its gate after
 * two analysis steps. Returns its id.
 */
export async function seedShowcase(db: pg.Client, clusterId: string, projectId: string): Promise<string> {
  const app = await db.query<{ id: string }>(
    `insert into apps (name, cluster_id, project_id, app_type, strategy, status) values ('petclinic', $1, $2, 'jar', 'canary', 'running') returning id`,
    [clusterId, projectId],
  );
  const appId = app.rows[0]?.id as string;
  const spec = (strategy: string, env: Record<string, string> = {}) => JSON.stringify({ port: 8080, resource_spec: 'medium', profile: 'prod', strategy, env, config: { 'application.yaml': 'server:\n  port: 8080\n' }, secret_names: ['db-password'], replicas: 2 });
  const started = Date.now() - 3_600_000;
  const at = (minutes: number) => new Date(started + minutes * 60_000).toISOString();
  const releases = [
    { version: 1, status: 'superseded', strategy: 'rolling', spec: spec('rolling'), diagnosis: null, created: at(0), finished: at(1) },
    {
      version: 2,
      status: 'failed',
      strategy: 'canary',
      spec: spec('canary', { JAVA_OPTS: '-Xmx64m' }),
      diagnosis: JSON.stringify({
        code: 'oom-killed',
        summary: 'The container ran out of memory and was killed (OOMKilled, exit code 137).',
        hint: 'Give the app more memory (resource_spec medium or large) or lower the JVM heap (-Xmx) below the container limit.',
        evidence: { exit_code: 137, restarts: 3, last_log: ['java.lang.OutOfMemoryError: Java heap space', '<script>alert(1)</script> is shown as text'] },
      }),
      created: at(10),
      finished: at(13),
    },
    { version: 3, status: 'waiting-promotion', strategy: 'canary', spec: spec('canary'), diagnosis: null, created: at(30), finished: null },
  ];
  const ids: string[] = [];
  for (const r of releases) {
    const row = await db.query<{ id: string }>(
      `insert into releases (app_id, version, version_label, task_type, spec, strategy, status, diagnosis, image_ref, image_digest, created_at, finished_at, canary_weight)
       values ($1, $2, $3, 'all', $4, $5, $6, $7, $8, $9, $10, $11, $12) returning id`,
      [appId, r.version, `v${r.version}`, r.spec, r.strategy, r.status, r.diagnosis, `127.0.0.1:5000/payments/petclinic:v${r.version}`, `sha256:${String(r.version).repeat(64)}`, r.created, r.finished, r.version === 3 ? 50 : null],
    );
    ids.push(row.rows[0]?.id as string);
  }
  await db.query(`update apps set current_release_id = $2 where id = $1`, [appId, ids[0]]);
  const v3 = ids[2] as string;
  const ref = { app_id: appId, app_name: 'petclinic', release_id: v3, version: 3, cluster_id: clusterId };
  const events: [string, number, Record<string, unknown>][] = [
    ['dev.appserving.command.build.v1', 30, { release: ref }],
    ['dev.appserving.build.started.v1', 30.1, { release: ref, method: 'direct' }],
    ['dev.appserving.build.succeeded.v1', 30.5, { release: ref, image: '127.0.0.1:5000/payments/petclinic:v3', digest: `sha256:${'3'.repeat(64)}`, reused: false }],
    ['dev.appserving.deploy.step.v1', 31, { release: ref, step: 'applied', helm_revision: 3 }],
    ['dev.appserving.release.status.v1', 31.1, { release: ref, status: 'progressing', previous_status: 'deploying' }],
    ['dev.appserving.canary.analysis.v1', 32, { release: ref, step: 1, weight: 25, phase: 'Progressing', verdict: 'pass', failed_checks: 0, metrics: [{ name: 'success-rate', value: 99.9, threshold_min: 99, verdict: 'pass' }, { name: 'latency-p99', value: 180, threshold_max: 500, verdict: 'pass' }] }],
    ['dev.appserving.release.status.v1', 32.1, { release: ref, status: 'progressing', previous_status: 'progressing', canary_weight: 25 }],
    ['dev.appserving.canary.analysis.v1', 33, { release: ref, step: 2, weight: 50, phase: 'Progressing', verdict: 'pass', failed_checks: 0, metrics: [{ name: 'success-rate', value: 99.7, threshold_min: 99, verdict: 'pass' }, { name: 'latency-p99', value: 210, threshold_max: 500, verdict: 'pass' }] }],
    ['dev.appserving.deploy.step.v1', 34, { release: ref, step: 'waiting-promotion' }],
    ['dev.appserving.release.status.v1', 34.1, { release: ref, status: 'waiting-promotion', previous_status: 'progressing', canary_weight: 50 }],
  ];
  for (const [type, minute, data] of events) {
    await db.query(`insert into timeline (event_id, app_id, release_id, type, source, occurred_at, data) values ($1, $2, $3, $4, '/appserving/seed', $5, $6)`, [
      randomUUID(),
      appId,
      v3,
      type,
      at(minute),
      JSON.stringify(data),
    ]);
  }
  return appId;
}

/** An app whose only release failed: the diagnosis and hint show on its page. */
export async function seedFailed(db: pg.Client, clusterId: string, projectId: string): Promise<string> {
  const app = await db.query<{ id: string }>(
    `insert into apps (name, cluster_id, project_id, app_type, strategy, status) values ('inventory', $1, $2, 'war', 'rolling', 'failed') returning id`,
    [clusterId, projectId],
  );
  const appId = app.rows[0]?.id as string;
  const diagnosis = {
    code: 'crash-loop',
    summary: 'The container keeps exiting (exit code 1) and Kubernetes restarts it: CrashLoopBackOff after 3 restarts.',
    hint: 'Read the log lines below: the app stops during start-up. Check its configuration (env, config files) and that it listens on port 8080.',
    evidence: { exit_code: 1, restarts: 3, log_tail: ['Caused by: java.net.BindException: Address already in use'] },
  };
  await db.query(
    `insert into releases (app_id, version, version_label, task_type, spec, strategy, status, status_reason, diagnosis, image_ref, created_at, finished_at)
     values ($1, 1, 'v1', 'all', $2, 'rolling', 'failed', 'crash loop', $3, '127.0.0.1:5000/catalog/inventory:v1', now() - interval '5 minutes', now() - interval '4 minutes')`,
    [appId, JSON.stringify({ port: 8080, resource_spec: 'small', strategy: 'rolling', env: { SPRING_PROFILES_ACTIVE: 'prod' } }), JSON.stringify(diagnosis)],
  );
  return appId;
}
