// The status engine driven by events on a real NATS server and a real Postgres database, with the real gateway
// in front (its POST /apps writes the releases and publishes the commands). No cluster here: the rollout parts
// are in *.cluster.test.ts.
import { randomUUID } from 'node:crypto';
import { BuildFailedV1, BuildStartedV1, BuildSucceededV1, DeployStepV1, streams, type ReleaseRefV1 } from '@appserving/shared';
import { jetstreamManager } from '@nats-io/jetstream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestGateway, type TestGateway } from '../../../gateway/src/testing/test-gateway.ts';
import { openEventStream, type EventStream } from '../testing/cluster-fixture.ts';
import { createHarness, waitFor, type Harness } from '../testing/harness.ts';
import { startTestWatcher, type TestWatcher } from '../testing/test-watcher.ts';

let gw: TestGateway;
let watcher: TestWatcher;
let h: Harness;
const sseStreams = new Set<EventStream>();
const digest = `sha256:${'b'.repeat(64)}`;

beforeAll(async () => {
  gw = await startTestGateway();
  watcher = await startTestWatcher({ natsUrl: gw.nats.url, databaseUrl: gw.databaseUrl, env: { APPSERVING_WATCHER_PENDING_DEADLINE_MS: '4000', APPSERVING_WATCHER_RESYNC_MS: '500', APPSERVING_MAX_DELIVERIES: '4', APPSERVING_RETRY_BASE_DELAY_MS: '200' } });
  h = createHarness({ base: gw.base, token: gw.adminToken, nc: gw.nc });
});

afterAll(async () => {
  for (const stream of sseStreams) stream.close();
  h?.close();
  await watcher?.stop();
  await gw?.close();
});

async function createApp(name: string, extra: Record<string, unknown> = {}) {
  const { status, body } = await h.call('POST', '/apps', {
    name,
    task_type: 'all',
    artifact_url: 'https://nexus.example/repo/app-1.0.jar',
    port: 8080,
    resource_spec: 'small',
    ...extra,
  });
  expect(status).toBe(202);
  const ref: ReleaseRefV1 = { app_id: body.app.id, app_name: name, release_id: body.release.id, version: body.release.version, cluster_id: body.app.cluster.id };
  return ref;
}

const release = (id: string) => gw.database.db.selectFrom('releases').selectAll().where('id', '=', id).executeTakeFirstOrThrow();
const operation = (releaseId: string) => gw.database.db.selectFrom('operations').selectAll().where('release_id', '=', releaseId).executeTakeFirstOrThrow();
const statusOf = (id: string, status: string) => async () => (await release(id)).status === status;
const timelineOf = (appId: string) => gw.database.db.selectFrom('timeline').selectAll().where('app_id', '=', appId).orderBy('id').execute();

describe('release status from build and deploy events', () => {
  it('a build-only release: building, then built with its image; the operation ends; events announced once', async () => {
    const ref = await createApp('build-only', { task_type: 'build' });
    await h.publish(BuildStartedV1, `${ref.release_id}.build.started`, ref.app_id, { release: ref, method: 'direct' });
    await waitFor('building', statusOf(ref.release_id, 'building'));
    expect((await operation(ref.release_id)).status).toBe('running');
    await h.publish(BuildSucceededV1, `${ref.release_id}.build.succeeded`, ref.app_id, { release: ref, image: '127.0.0.1:5000/build-only:v1', digest, reused: false });
    await waitFor('built', statusOf(ref.release_id, 'built'));
    const row = await release(ref.release_id);
    expect(row).toMatchObject({ image_ref: '127.0.0.1:5000/build-only:v1', image_digest: digest });
    expect(row.finished_at).not.toBeNull();
    expect((await operation(ref.release_id)).status).toBe('succeeded');
    await waitFor('status events', () => h.statusesOf(ref.release_id).length === 2);
    expect(h.statusesOf(ref.release_id)).toEqual(['building', 'built']);
    expect(h.statusEvents.find((e) => e.data.status === 'built' && e.data.release.release_id === ref.release_id)?.data.previous_status).toBe('building');

    // A replay (the builder redelivered its work, a new message id) changes nothing and announces nothing.
    await h.publish(BuildStartedV1, `${ref.release_id}.build.started.replayed`, ref.app_id, { release: ref, method: 'direct' });
    await h.publish(BuildSucceededV1, `${ref.release_id}.build.succeeded.replayed`, ref.app_id, { release: ref, image: 'other:v9', digest, reused: true });
    await waitFor('replays recorded', async () => (await timelineOf(ref.app_id)).filter((t) => t.event_id.endsWith('.replayed')).length === 2);
    await new Promise((r) => setTimeout(r, 300));
    expect((await release(ref.release_id)).status).toBe('built');
    expect((await release(ref.release_id)).image_ref).toBe('127.0.0.1:5000/build-only:v1');
    const statusEntries = (await timelineOf(ref.app_id)).filter((t) => t.type === 'dev.appserving.release.status.v1').map((t) => t.event_id);
    expect(statusEntries).toEqual([`${ref.release_id}.status.building`, `${ref.release_id}.status.built`]);
  });

  it('a failed build: diagnosis with the log tail in GET /apps/{id} and SSE; the app takes its next command', async () => {
    const ref = await createApp('build-fails');
    const sse = await openEventStream({ gw, streams: sseStreams }, ref.app_id);
    await h.publish(BuildStartedV1, `${ref.release_id}.build.started`, ref.app_id, { release: ref, method: 'kaniko' });
    await h.publish(BuildFailedV1, `${ref.release_id}.build.failed`, ref.app_id, {
      release: ref,
      reason: 'artifact download failed: 404 Not Found',
      log_tail: ['fetching https://nexus.example/repo/app-1.0.jar', 'error: 404 Not Found'],
    });
    await waitFor('failed', statusOf(ref.release_id, 'failed'));
    const { body: app } = await h.call('GET', `/apps/${ref.app_id}`);
    expect(app.status).toBe('failed');
    expect(app.current_release.status_reason).toBe('The image build failed: artifact download failed: 404 Not Found');
    expect(app.current_release.diagnosis).toMatchObject({ code: 'build-failed', evidence: { log_tail: ['fetching https://nexus.example/repo/app-1.0.jar', 'error: 404 Not Found'] } });
    expect(app.current_release.diagnosis.hint).toMatch(/artifact_url/);
    const event = await sse.until('failed', (e) => e.data?.data?.status === 'failed', 10_000);
    expect(event.data.data.diagnosis).toEqual(app.current_release.diagnosis);
    sse.close();
    expect((await operation(ref.release_id)).status).toBe('failed');
    const next = await h.call('PATCH', `/apps/${ref.app_id}`, { artifact_url: 'https://nexus.example/repo/app-1.1.jar' });
    expect(next.status).toBe(202);
  });

  it('a deploy-only release: deploying when its command is recorded, failed with helm\'s message in GET /apps/{id} and SSE', async () => {
    const ref = await createApp('deploy-only', { task_type: 'deploy', image_url: `registry.example/deploy-only@${digest}`, artifact_url: undefined });
    const sse = await openEventStream({ gw, streams: sseStreams }, ref.app_id);
    await waitFor('deploying', statusOf(ref.release_id, 'deploying'));
    expect(await release(ref.release_id)).toMatchObject({ image_ref: 'registry.example/deploy-only', image_digest: digest });
    await h.publish(DeployStepV1, `${ref.release_id}.deploy.failed`, ref.app_id, { release: ref, step: 'failed', reason: 'Deployment.apps "deploy-only" is invalid: spec.template.spec.containers[0].image: Required value' });
    await waitFor('failed', statusOf(ref.release_id, 'failed'));
    const row = await release(ref.release_id);
    expect(row.diagnosis).toMatchObject({ code: 'helm-failed', evidence: { message: expect.stringContaining('is invalid') } });
    expect(row.status_reason).toMatch(/^Applying the app to the cluster failed: /);
    const { body: app } = await h.call('GET', `/apps/${ref.app_id}`);
    expect(app.current_release.diagnosis).toEqual(row.diagnosis);
    const event = await sse.until('failed', (e) => e.data?.data?.status === 'failed', 10_000);
    expect(event.data.data.diagnosis).toEqual(row.diagnosis);
    sse.close();
  });

  it('a release nobody picks up fails at its deadline, naming the state it was stuck in', async () => {
    const ref = await createApp('nobody-builds');
    const row = await waitFor('deadline', async () => {
      const r = await release(ref.release_id);
      return r.status === 'failed' ? r : undefined;
    });
    expect(row.diagnosis).toMatchObject({ code: 'deadline-exceeded', evidence: { stuck_in: 'pending' } });
    expect((await operation(ref.release_id)).status).toBe('failed');
  });

  it('a delete cancels the running release; the deployer\'s deleted step ends the app and its delete operation', async () => {
    const ref = await createApp('to-delete');
    await h.publish(BuildStartedV1, `${ref.release_id}.build.started`, ref.app_id, { release: ref, method: 'kaniko' });
    await waitFor('building', statusOf(ref.release_id, 'building'));
    expect((await h.call('DELETE', `/apps/${ref.app_id}`)).status).toBe(202);
    await waitFor('cancelled', statusOf(ref.release_id, 'failed'));
    expect((await release(ref.release_id)).status_reason).toBe('cancelled: app deleted');
    await h.publish(DeployStepV1, `${ref.release_id}.deploy.deleted`, ref.app_id, { release: ref, step: 'deleted' });
    await waitFor('app gone', async () => (await h.call('GET', `/apps/${ref.app_id}`)).status === 404);
    const app = await gw.database.db.selectFrom('apps').selectAll().where('id', '=', ref.app_id).executeTakeFirstOrThrow();
    expect(app.status).toBe('deleted');
    const ops = await gw.database.db.selectFrom('operations').select(['kind', 'status']).where('app_id', '=', ref.app_id).execute();
    expect(ops.find((o) => o.kind === 'delete')?.status).toBe('succeeded');
    // The name is free again.
    expect((await h.call('POST', '/apps', { name: 'to-delete', task_type: 'build', artifact_url: 'https://nexus.example/a.jar', port: 8080, resource_spec: 'small' })).status).toBe(202);
  });

  it('an event about a release that never gets registered is retried a few times, then dead-lettered naming it', async () => {
    const ghost: ReleaseRefV1 = { app_id: randomUUID(), app_name: 'ghost', release_id: randomUUID(), version: 1, cluster_id: randomUUID() };
    await h.publish(BuildStartedV1, `${ghost.release_id}.build.started`, ghost.app_id, { release: ghost, method: 'direct' });
    const jsm = await jetstreamManager(gw.nc);
    const letter = await waitFor('dead letter', async () => {
      const m = await jsm.streams.getMessage(streams.deadLetters.name, { last_by_subj: 'appserving.dlq.watcher-status-events' }).catch(() => null);
      return m?.json<{ reason: string; error_code: string }>();
    });
    expect(letter.error_code).toBe('release_not_found');
    expect(letter.reason).toContain(ghost.release_id);
  });
});
