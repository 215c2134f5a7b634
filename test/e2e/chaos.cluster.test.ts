// Chaos: 100 releases in flight while every service process is SIGKILLed at random moments and restarted, NATS
// is restarted once and Postgres once. Afterwards: no accepted command lost, no effect duplicated (releases,
// operations, helm revisions, build Pods, timeline entries), every release terminal before its deadline.
// The randomness is seeded (CHAOS_SEED to replay a run); the seed is printed at the start.
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, startTestNatsServer, type TestNatsServer } from '@appserving/shared/testing';
import { SIM_RUN_DURATION_ANNOTATION, SIM_TERMINATION_MESSAGE_ANNOTATION } from '@appserving/test-cluster';
import type {} from '@appserving/test-cluster/global-setup';
import { seedBaseImages } from '@appserving/test-support/base-images';
import { clusterSettings, testClusterFromEnv } from '@appserving/test-support/platform';
import { startTestPostgresServer, type TestPostgresServer } from '@appserving/test-support/postgres-server';
import { SERVICE_NAMES, serviceProcesses, type ServiceName, type ServiceProcesses } from '@appserving/test-support/service-processes';
import { CoreV1Api, KubeConfig, makeInformer, type V1Pod } from '@kubernetes/client-node';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { copyImage, isDone, makeJar, startArtifactServer, type AppView, type ArtifactServer, type ReleaseView } from './e2e-support.ts';

const APPS = Number(process.env.CHAOS_APPS ?? 100);
const KANIKO_EVERY = 5; // every 5th app builds in a (simulated) Kaniko Pod, the rest by direct push
const CHAOS_MS = Number(process.env.CHAOS_MS ?? 90_000);
const SETTLE_MS = 8 * 60_000;
const seed = Number(process.env.CHAOS_SEED ?? randomBytes(4).readUInt32BE(0));

/** mulberry32: a small seeded PRNG, so one seed replays one schedule. */
function prng(s: number): () => number {
  let a = s >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const cluster = inject('appservingCluster');
const kc = new KubeConfig();
kc.loadFromFile(cluster.kubeconfigPath);
const core = kc.makeApiClient(CoreV1Api);

let nats: TestNatsServer;
let postgres: TestPostgresServer;
let services: ServiceProcesses;
let artifacts: ArtifactServer;
let gatewayUrl: string;
let databaseUrl: string;
const adminToken = `aps_${randomBytes(32).toString('base64url')}`;
const buildNamespace = `chaos-builds-${randomBytes(3).toString('hex')}`;
const logDir = mkdtempSync(join(tmpdir(), 'appserving-chaos-'));
const schedule: string[] = [];
let kanikoDigest: string;
let appNamespace: string | undefined;

beforeAll(async () => {
  process.stderr.write(`chaos: seed ${seed} (replay with CHAOS_SEED=${seed}); logs in ${logDir}\n`);
  const testCluster = testClusterFromEnv();
  const base = await seedBaseImages(cluster.registryHost);
  const [jarRepository, jarTag] = base.jar.slice(cluster.registryHost.length + 1).split(':') as [string, string];
  // What a Kaniko build "pushes": a copy of the JRE base (its digest is the same in every repository).
  kanikoDigest = await copyImage(cluster.registryHost, { repository: jarRepository, reference: jarTag }, { repository: 'chaos/probe', tag: 'kaniko-output' });
  [nats, postgres, artifacts] = await Promise.all([startTestNatsServer(), startTestPostgresServer(), startArtifactServer()]);
  databaseUrl = postgres.url.replace(/\/postgres$/, '/appserving');
  const ports = { gateway: await freePort(), builder: await freePort(), deployer: await freePort(), watcher: await freePort() };
  gatewayUrl = `http://127.0.0.1:${ports.gateway}`;
  services = serviceProcesses({
    ports,
    logDir,
    env: {
      PATH: process.env.PATH ?? '',
      HOME: process.env.HOME ?? '',
      APPSERVING_NATS_URL: nats.url,
      APPSERVING_DATABASE_URL: databaseUrl,
      APPSERVING_ADMIN_TOKEN: adminToken,
      APPSERVING_LOG_LEVEL: 'info',
      ...clusterSettings(testCluster, base),
      APPSERVING_ARTIFACT_HOST_ALLOWLIST: artifacts.host,
      APPSERVING_BUILD_NAMESPACE: buildNamespace,
      APPSERVING_BUILD_POD_ANNOTATIONS: JSON.stringify({ [SIM_TERMINATION_MESSAGE_ANNOTATION]: `${kanikoDigest}\n`, [SIM_RUN_DURATION_ANNOTATION]: '4s' }),
      // A killed consumer's messages come back after ack_wait: short, so the run converges in minutes.
      APPSERVING_ACK_WAIT_MS: '10000',
      APPSERVING_MAX_DELIVERIES: '30',
      APPSERVING_CONSUMER_CONCURRENCY: '8',
      APPSERVING_WATCHER_PROGRESSING_DEADLINE_MS: '420000',
      APPSERVING_WATCHER_DEPLOYING_DEADLINE_MS: '420000',
    },
  });
  for (const name of SERVICE_NAMES) await services.start(name);
}, 600_000);

afterAll(async () => {
  await services?.stopAll();
  await Promise.all([nats?.dispose(), postgres?.dispose(), artifacts?.close()]);
  await core.deleteNamespace({ name: buildNamespace }).catch(() => undefined);
  if (appNamespace) await core.deleteNamespace({ name: appNamespace }).catch(() => undefined);
}, 120_000);

async function api<T>(method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<{ status: number; body: T }> {
  const response = await fetch(`${gatewayUrl}${path}`, {
    method,
    headers: { authorization: `Bearer ${adminToken}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...headers },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    signal: AbortSignal.timeout(15_000),
  });
  const text = await response.text();
  return { status: response.status, body: (text ? JSON.parse(text) : undefined) as T };
}

/** A client that keeps trying (the gateway may be down right now), always with the same Idempotency-Key. */
async function persistently<T>(what: string, call: () => Promise<{ status: number; body: T }>, deadlineMs = 300_000): Promise<{ status: number; body: T }> {
  const deadline = Date.now() + deadlineMs;
  let last = '';
  while (Date.now() < deadline) {
    try {
      const answer = await call();
      if (answer.status < 500) return answer;
      last = `${answer.status} ${JSON.stringify(answer.body)}`;
    } catch (error) {
      last = String(error);
    }
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
  throw new Error(`${what}: no answer below 500 within ${deadlineMs} ms (last: ${last})`);
}

/** Watches the build namespace: every build Pod ever created, by name and uid. */
async function recordBuildPods(): Promise<{ uids: Map<string, Set<string>>; stop(): Promise<void> }> {
  await core.createNamespace({ body: { metadata: { name: buildNamespace } } }).catch(() => undefined);
  const uids = new Map<string, Set<string>>();
  const informer = makeInformer(kc, `/api/v1/namespaces/${buildNamespace}/pods`, () => core.listNamespacedPod({ namespace: buildNamespace }));
  const seen = (pod: V1Pod) => {
    const name = pod.metadata?.name ?? '';
    if (!uids.has(name)) uids.set(name, new Set());
    uids.get(name)?.add(pod.metadata?.uid ?? '');
  };
  informer.on('add', seen);
  informer.on('update', seen);
  informer.on('error', () => setTimeout(() => void informer.start(), 1_000));
  await informer.start();
  return { uids, stop: () => informer.stop() };
}

function shuffled<T>(items: T[], random: () => number): T[] {
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [items[i], items[j]] = [items[j] as T, items[i] as T];
  }
  return items;
}

/**
 * Starts a service until it is ready, as a supervisor would: a start cut short by a kill (restarts of one service
 * overlap: a restart may find another one's process, which it then waits for), or a process that exits because
 * NATS or Postgres is being restarted under it, is tried again, for three minutes at most.
 */
async function keepStarting(name: ServiceName): Promise<void> {
  const deadline = Date.now() + 180_000;
  for (;;) {
    try {
      await services.start(name, 180_000);
      return;
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
  }
}

describe('chaos', () => {
  it(`${APPS} releases in flight survive killed services, a NATS restart and a Postgres restart`, async () => {
    const random = prng(seed);
    const pods = await recordBuildPods();
    const clusters = await persistently('GET /clusters', () => api<{ clusters: { id: string; name: string }[] }>('GET', '/clusters'));
    const local = clusters.body.clusters.find((c) => c.name === 'local');
    const project = await persistently('POST /projects', () => api<{ id: string; name: string; namespace: string }>('POST', '/projects', { name: `chaos-${randomBytes(3).toString('hex')}`, cluster_id: local?.id }));
    appNamespace = project.body.namespace;
    expect(project.status, JSON.stringify(project.body)).toBe(201);
    const namespace = project.body.namespace;

    const names = Array.from({ length: APPS }, (_, i) => `app-${String(i).padStart(3, '0')}`);
    const kaniko = new Set(names.filter((_, i) => i % KANIKO_EVERY === 0));
    for (const name of names) artifacts.put(`/libs/${name}.jar`, await makeJar(name));
    for (const name of kaniko) await copyImage(cluster.registryHost, { repository: 'chaos/probe', reference: 'kaniko-output' }, { repository: `${namespace}/${name}`, tag: 'kaniko-output' });

    // The chaos runs while the apps are created and rolled out.
    const chaosStarted = Date.now();
    const chaos = (async () => {
      let natsRestarted = false;
      let postgresRestarted = false;
      const restarts: Promise<void>[] = [];
      // Victims come in rounds of all four services (a seeded shuffle each), so every service is killed.
      let round: ServiceName[] = [];
      while (Date.now() - chaosStarted < CHAOS_MS) {
        await new Promise((resolve) => setTimeout(resolve, 1_500 + random() * 2_500));
        const elapsed = Date.now() - chaosStarted;
        if (!natsRestarted && elapsed > CHAOS_MS * 0.3) {
          natsRestarted = true;
          schedule.push(`${elapsed} ms: restart NATS`);
          await nats.stop();
          await new Promise((resolve) => setTimeout(resolve, 1_000));
          await nats.start();
          continue;
        }
        if (!postgresRestarted && elapsed > CHAOS_MS * 0.6) {
          postgresRestarted = true;
          schedule.push(`${elapsed} ms: restart Postgres`);
          await postgres.restart();
          continue;
        }
        if (round.length === 0) round = shuffled([...SERVICE_NAMES], random);
        const victim = round.pop() as ServiceName;
        const downMs = Math.floor(300 + random() * 2_000);
        schedule.push(`${elapsed} ms: SIGKILL ${victim}${services.running(victim) ? '' : ' (already down)'}, restart after ${downMs} ms`);
        await services.kill(victim);
        // Restarted in the background: the next kill may come while it is still starting, as in real life.
        restarts.push(new Promise((resolve) => setTimeout(resolve, downMs)).then(() => keepStarting(victim)));
      }
      await Promise.all(restarts);
      for (const name of SERVICE_NAMES) await keepStarting(name);
    })();

    // Every create is retried until answered (same key): accepted once, whatever the gateway went through.
    const accepted = new Map<string, string>();
    let next = 0;
    await Promise.all(
      Array.from({ length: 10 }, async () => {
        for (let i = next++; i < names.length; i = next++) {
          const name = names[i] as string;
          const key = randomUUID();
          const body = { name, project: project.body.name, artifact_url: artifacts.url(`/libs/${name}.jar`), ...(kaniko.has(name) ? { build_method: 'kaniko' } : {}) };
          const answer = await persistently(`POST /apps ${name}`, () => api<{ app: AppView }>('POST', '/apps', body, { 'idempotency-key': key }));
          expect(answer.status, `${name}: ${JSON.stringify(answer.body)}`).toBe(202);
          accepted.set(name, answer.body.app.id);
        }
      }),
    );
    await chaos;
    process.stderr.write(`chaos schedule (seed ${seed}):\n  ${schedule.join('\n  ')}\n`);
    expect(accepted.size).toBe(APPS);

    // Every release reaches a terminal state.
    const settleDeadline = Date.now() + SETTLE_MS;
    const final = new Map<string, ReleaseView>();
    while (final.size < APPS && Date.now() < settleDeadline) {
      for (const [name, appId] of accepted) {
        if (final.has(name)) continue;
        const got = await api<AppView>('GET', `/apps/${appId}`).catch(() => undefined);
        const release = got?.body.current_release;
        if (release && isDone(release)) final.set(name, release);
      }
      if (final.size < APPS) await new Promise((resolve) => setTimeout(resolve, 2_000));
    }
    const unfinished = names.filter((n) => !final.has(n));
    expect(unfinished, `not terminal after the chaos (seed ${seed}); logs in ${logDir}`).toEqual([]);
    const failed = [...final].filter(([, r]) => r.status !== 'succeeded').map(([n, r]) => `${n}: ${r.status} ${r.status_reason ?? ''}`);
    expect(failed, `seed ${seed}; logs in ${logDir}`).toEqual([]);
    await pods.stop();

    const db = new pg.Client({ connectionString: databaseUrl });
    await db.connect();
    try {
      const appIds = [...accepted.values()];
      // A release can be terminal (the watcher saw the rollout finish) while the deploy command that applied it is
      // still being redelivered to a restarted deployer, which then announces `applied`: give those steps a bound.
      const stepsDeadline = Date.now() + 90_000;
      for (;;) {
        const missing = await db.query<{ n: number }>(
          `select count(*)::int as n from releases r where r.app_id = any($1::uuid[])
              and not exists (select 1 from timeline t where t.release_id = r.id and t.type = 'dev.appserving.deploy.step.v1' and t.data->>'step' = 'applied')`,
          [appIds],
        );
        if (missing.rows[0]?.n === 0 || Date.now() > stepsDeadline) break;
        await new Promise((resolve) => setTimeout(resolve, 1_000));
      }
      // No accepted command lost, none applied twice: one app, one release and one finished operation per create.
      const perApp = await db.query<{ name: string; releases: number; operations: number; open: number }>(
        `select a.name, (select count(*) from releases r where r.app_id = a.id)::int as releases,
                (select count(*) from operations o where o.app_id = a.id)::int as operations,
                (select count(*) from operations o where o.app_id = a.id and o.status in ('pending', 'running'))::int as open
           from apps a where a.id = any($1::uuid[])`,
        [appIds],
      );
      expect(perApp.rows.length).toBe(APPS);
      expect(perApp.rows.filter((r) => r.releases !== 1 || r.operations !== 1 || r.open !== 0)).toEqual([]);
      expect(Number((await db.query<{ n: string }>(`select count(*) as n from apps where name like 'app-%'`)).rows[0]?.n)).toBe(APPS);

      // Timeline: each step of each release recorded exactly once.
      const steps = await db.query<{ release_id: string; what: string; n: number }>(
        `select release_id, type || coalesce('/' || (data->>'step'), '') || coalesce('/' || (data->>'status'), '') as what, count(*)::int as n
           from timeline where app_id = any($1::uuid[])
            and type in ('dev.appserving.build.started.v1', 'dev.appserving.build.succeeded.v1', 'dev.appserving.deploy.step.v1', 'dev.appserving.release.status.v1')
          group by 1, 2`,
        [appIds],
      );
      expect(steps.rows.filter((r) => r.n !== 1)).toEqual([]);
      const perRelease = new Map<string, Set<string>>();
      for (const row of steps.rows) perRelease.set(row.release_id, (perRelease.get(row.release_id) ?? new Set()).add(row.what));
      for (const whats of perRelease.values()) {
        expect([...whats]).toEqual(
          expect.arrayContaining(['dev.appserving.build.started.v1', 'dev.appserving.build.succeeded.v1', 'dev.appserving.deploy.step.v1/applied', 'dev.appserving.release.status.v1/succeeded']),
        );
      }
      expect(perRelease.size).toBe(APPS);

      // Deadlines: each release finished within the longest deadline of its path.
      const late = await db.query<{ id: string; seconds: number }>(
        `select id, extract(epoch from finished_at - created_at)::int as seconds from releases where app_id = any($1::uuid[]) and (finished_at is null or finished_at - created_at > interval '15 minutes')`,
        [appIds],
      );
      expect(late.rows).toEqual([]);
    } finally {
      await db.end();
    }

    // helm: one revision per app (a repeated deploy would have made a second).
    const helmReleases = (await core.listNamespacedSecret({ namespace, labelSelector: 'owner=helm' })).items.map((s) => s.metadata?.labels?.name ?? '');
    const revisions = new Map<string, number>();
    for (const name of helmReleases) revisions.set(name, (revisions.get(name) ?? 0) + 1);
    expect(names.filter((n) => revisions.get(n) !== 1)).toEqual([]);

    // Build Pods: one per Kaniko release, never a second one for the same release.
    const buildPods = [...pods.uids].filter(([name]) => name.startsWith('build-'));
    expect(buildPods.filter(([, uids]) => uids.size !== 1).map(([name]) => name)).toEqual([]);
    expect(buildPods.length).toBe(kaniko.size);
    // The chaos really happened.
    expect(schedule.some((s) => s.includes('SIGKILL'))).toBe(true);
    for (const name of SERVICE_NAMES) expect(services.starts[name], `${name} was never killed and restarted`).toBeGreaterThanOrEqual(2);
  }, SETTLE_MS + CHAOS_MS + 600_000);
});
