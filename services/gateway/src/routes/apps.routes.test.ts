import { randomUUID } from 'node:crypto';
import { createPublisher, createSecretBox, DEV_SECRET_KEY, ReleaseStatusChangedV1, streams, type CloudEvent, type DatabaseHandle } from '@appserving/shared';
import type { TestNatsServer } from '@appserving/shared/testing';
import { jetstream, jetstreamManager, type JetStreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestGateway, type TestGateway } from '../testing/test-gateway.ts';

let gateway: TestGateway;
let nats: TestNatsServer;
let nc: NatsConnection;
let jsm: JetStreamManager;
let database: DatabaseHandle;
let base: string;
let clusterId: string;
let adminToken: string;

const seedRequest = {
  name: 'my-petclinic',
  version: 'v1',
  target_cluster_id: 'local',
  task_type: 'all',
  artifact_url: 'http://nexus.example/repository/my-release-repo/default/petclinic/1.0/petclinic-1.0.jar',
  port: '8080',
  resource_spec: 'medium',
  profile: 'default',
};

beforeAll(async () => {
  gateway = await startTestGateway();
  ({ nats, nc, database, base, clusterId, adminToken } = gateway);
  jsm = await jetstreamManager(nc);
});

afterAll(async () => {
  await gateway?.close();
});

async function call(method: string, path: string, body?: unknown, headers: Record<string, string> = {}) {
  const response = await fetch(`${base}${path}`, {
    method,
    headers: { authorization: `Bearer ${adminToken}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...headers },
    body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await response.text();
  return { status: response.status, headers: response.headers, body: text ? JSON.parse(text) : undefined };
}

async function commandsFor(appId: string): Promise<CloudEvent[]> {
  const found: CloudEvent[] = [];
  const info = await jsm.streams.info(streams.commands.name);
  for (let seq = info.state.first_seq; seq <= info.state.last_seq && info.state.messages > 0; seq++) {
    const m = await jsm.streams.getMessage(streams.commands.name, { seq }).catch(() => null);
    if (m && m.subject.endsWith(`.${appId}`)) found.push(m.json<CloudEvent>());
  }
  return found;
}

async function finishOperations(appId: string, releaseStatus = 'succeeded', image?: string) {
  await database.db.updateTable('operations').set({ status: 'succeeded', finished_at: new Date() }).where('app_id', '=', appId).where('status', 'in', ['pending', 'running']).execute();
  await database.db
    .updateTable('releases')
    .set({ status: releaseStatus as 'succeeded', finished_at: new Date(), ...(image ? { image_ref: image.split('@')[0] ?? image, image_digest: image.split('@')[1] ?? null } : {}) })
    .where('app_id', '=', appId)
    .where('finished_at', 'is', null)
    .execute();
}

async function waitFor<T>(probe: () => Promise<T>, what: string, timeoutMs = 10_000): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe("the seed's demo over HTTP", () => {
  let appId: string;

  it('creates the app from the seed request as written and publishes a build command', async () => {
    const created = await call('POST', '/apps', seedRequest);
    expect(created.status).toBe(202);
    appId = created.body.app.id;
    expect(created.body.app).toMatchObject({ name: 'my-petclinic', cluster: { id: clusterId, name: 'local' }, app_type: 'jar', strategy: 'rolling' });
    expect(created.body.release).toMatchObject({ version: 1, version_label: 'v1', task_type: 'all', status: 'pending', spec: { port: 8080, resource_spec: 'medium', profile: 'default' } });

    const [command, ...others] = await waitFor(async () => {
      const c = await commandsFor(appId);
      return c.length > 0 ? c : undefined;
    }, 'the build command');
    expect(others).toHaveLength(0);
    expect(command).toMatchObject({
      specversion: '1.0',
      type: 'dev.appserving.command.build.v1',
      source: '/appserving/gateway',
      id: created.body.operation.command_id,
      data: { release: { app_id: appId, app_name: 'my-petclinic', version: 1, cluster_id: clusterId }, then_deploy: true, spec: { artifact_url: seedRequest.artifact_url, port: 8080 } },
    });
  });

  it('gets the app with its current release and status', async () => {
    const got = await call('GET', `/apps/${appId}`);
    expect(got.status).toBe(200);
    expect(got.body).toMatchObject({ id: appId, name: 'my-petclinic', status: 'pending', current_release: { version_label: 'v1' }, operation: { kind: 'create', status: 'pending' } });
  });

  it('refuses a second operation while one is in flight, naming it', async () => {
    const second = await call('PATCH', `/apps/${appId}`, { replicas: 2 });
    expect(second.status).toBe(409);
    expect(second.body.error.code).toBe('operation_in_flight');
    expect(second.body.error.message).toContain('create operation in flight');
    expect(second.body.error.details.operation.kind).toBe('create');
  });

  it('updates to v2 keeping the fields left out, and keeps the history', async () => {
    await finishOperations(appId, 'succeeded', '127.0.0.1:5000/my-petclinic@sha256:' + '1'.repeat(64));
    const updated = await call('PATCH', `/apps/${appId}`, { artifact_url: 'http://nexus.example/petclinic-2.0.jar' });
    expect(updated.status).toBe(202);
    expect(updated.body.release).toMatchObject({
      version: 2,
      version_label: 'v2',
      spec: { artifact_url: 'http://nexus.example/petclinic-2.0.jar', port: 8080, resource_spec: 'medium', profile: 'default', app_type: 'jar' },
    });
    const history = await call('GET', `/apps/${appId}/releases`);
    expect(history.body.items.map((r: { version_label: string }) => r.version_label)).toEqual(['v2', 'v1']);
    expect((await call('GET', `/apps/${appId}/releases/v1`)).body.status).toBe('succeeded');
    expect((await call('GET', `/apps/${appId}/releases/2`)).body.version_label).toBe('v2');
    expect((await call('GET', `/apps/${appId}/releases/v9`)).body.error.code).toBe('release_not_found');
  });

  it('rolls back to v1 exactly: its image digest and spec, as a new release that deploys', async () => {
    await finishOperations(appId, 'succeeded', '127.0.0.1:5000/my-petclinic@sha256:' + '2'.repeat(64));
    const rolled = await call('POST', `/apps/${appId}/rollback`, { to_version: 'v1', skip_analysis: true });
    expect(rolled.status).toBe(202);
    expect(rolled.body.release).toMatchObject({ version: 3, task_type: 'deploy', spec: { artifact_url: seedRequest.artifact_url } });
    const deploy = await waitFor(async () => (await commandsFor(appId)).find((c) => c.type === 'dev.appserving.command.deploy.v1'), 'the deploy command');
    expect(deploy.data).toMatchObject({ image: '127.0.0.1:5000/my-petclinic@sha256:' + '1'.repeat(64), skip_analysis: true, release: { version: 3 } });
  });

  it('deletes the app with a delete command, cancelling what was in flight', async () => {
    const deleted = await call('DELETE', `/apps/${appId}`);
    expect(deleted.status).toBe(202);
    const command = await waitFor(async () => (await commandsFor(appId)).find((c) => c.type === 'dev.appserving.command.delete.v1'), 'the delete command');
    expect(command.data).toMatchObject({ release: { app_id: appId } });
    expect((await call('GET', `/apps/${appId}`)).body.status).toBe('deleting');
  });
});

describe('validation', () => {
  it('refuses unknown fields by name', async () => {
    const r = await call('POST', '/apps', { ...seedRequest, name: 'a1', colour: 'blue', replica: 3 });
    expect(r.status).toBe(400);
    expect(r.body.error.code).toBe('invalid_request');
    expect(r.body.error.details.problems).toEqual(
      expect.arrayContaining([
        { path: '/colour', message: 'unknown field' },
        { path: '/replica', message: 'unknown field' },
      ]),
    );
  });

  it.each([
    ['My_App', 'DNS label'],
    ['9lives', 'DNS label'],
    ['a'.repeat(41), 'at most 40 characters'],
    ['ends-with-', 'DNS label'],
  ])('refuses the name %s saying why', async (name, why) => {
    const r = await call('POST', '/apps', { ...seedRequest, name });
    expect(r.status).toBe(400);
    expect(r.body.error.details.problems[0]).toMatchObject({ path: '/name' });
    expect(r.body.error.message).toContain(why);
  });

  it('says what a task needs, and refuses a bad port, JSON or cluster', async () => {
    const noArtifact = await call('POST', '/apps', { name: 'no-artifact', task_type: 'all' });
    expect(noArtifact.status).toBe(400);
    expect(noArtifact.body.error.details.problems.map((p: { path: string }) => p.path)).toEqual(['/artifact_url', '/app_type']);
    expect((await call('POST', '/apps', { ...seedRequest, name: 'bad-port', port: '99999' })).body.error.details.problems[0].path).toBe('/port');
    expect((await call('POST', '/apps', { ...seedRequest, name: 'bad-port', port: 'http' })).status).toBe(400);
    const badJson = await call('POST', '/apps', '{"name": ');
    expect(badJson.status).toBe(400);
    expect(badJson.body.error.code).toBeTruthy();
    const noCluster = await call('POST', '/apps', { ...seedRequest, name: 'elsewhere', target_cluster_id: 'cdozqn511' });
    expect(noCluster.status).toBe(400);
    expect(noCluster.body.error).toMatchObject({ code: 'cluster_not_found' });
    expect(noCluster.body.error.message).toContain('cdozqn511');
  });

  it('refuses a second app of the same name, and answers 404 for an unknown app', async () => {
    expect((await call('POST', '/apps', { ...seedRequest, name: 'twice' })).status).toBe(202);
    const again = await call('POST', '/apps', { ...seedRequest, name: 'twice' });
    expect(again.status).toBe(409);
    expect(again.body.error.code).toBe('app_name_taken');
    const missing = await call('GET', `/apps/${randomUUID()}`);
    expect(missing.status).toBe(404);
    expect(missing.body.error.code).toBe('app_not_found');
    expect((await call('GET', '/apps/not-a-uuid')).status).toBe(400);
  });
});

describe('Idempotency-Key', () => {
  it('returns the first response for the same key and body, and issues one command', async () => {
    const key = randomUUID();
    const body = { ...seedRequest, name: 'idem-one' };
    const first = await call('POST', '/apps', body, { 'idempotency-key': key });
    const second = await call('POST', '/apps', { ...body }, { 'idempotency-key': key });
    expect(first.status).toBe(202);
    expect(second.status).toBe(202);
    expect(second.body).toEqual(first.body);
    expect(second.headers.get('idempotent-replayed')).toBe('true');
    await new Promise((r) => setTimeout(r, 500));
    expect(await commandsFor(first.body.app.id)).toHaveLength(1);
  });

  it('refuses the same key with a different body', async () => {
    const key = randomUUID();
    expect((await call('POST', '/apps', { ...seedRequest, name: 'idem-two' }, { 'idempotency-key': key })).status).toBe(202);
    const reused = await call('POST', '/apps', { ...seedRequest, name: 'idem-three' }, { 'idempotency-key': key });
    expect(reused.status).toBe(400);
    expect(reused.body.error.code).toBe('idempotency_key_reused');
  });

  it('lets exactly one of several concurrent requests with one key do the work', async () => {
    const key = randomUUID();
    const results = await Promise.all(Array.from({ length: 6 }, () => call('POST', '/apps', { ...seedRequest, name: 'idem-race' }, { 'idempotency-key': key })));
    expect(new Set(results.map((r) => r.status))).toEqual(new Set([202]));
    expect(new Set(results.map((r) => r.body.app.id)).size).toBe(1);
    const apps = await database.db.selectFrom('apps').select('id').where('name', '=', 'idem-race').execute();
    expect(apps).toHaveLength(1);
  });
});

describe('nothing accepted is lost', () => {
  it('accepts while NATS is down and publishes the command when it is back', async () => {
    await nats.stop();
    const created = await call('POST', '/apps', { ...seedRequest, name: 'while-down' });
    expect(created.status).toBe(202);
    const pending = await database.db.selectFrom('outbox').select(['id', 'published_at']).where('id', '=', created.body.operation.command_id).executeTakeFirstOrThrow();
    expect(pending.published_at).toBeNull();
    await nats.start();
    const commands = await waitFor(async () => {
      const c = await commandsFor(created.body.app.id).catch(() => []);
      return c.length > 0 ? c : undefined;
    }, 'the command after NATS came back', 20_000);
    expect(commands.map((c) => c.id)).toEqual([created.body.operation.command_id]);
    await waitFor(async () => {
      const row = await database.db.selectFrom('outbox').select('published_at').where('id', '=', created.body.operation.command_id).executeTakeFirstOrThrow();
      return row.published_at !== null;
    }, 'the outbox entry to be marked published');
  });
});

describe('OpenAPI', () => {
  it('serves the document generated from the same schemas', async () => {
    const doc = await call('GET', '/openapi.json');
    expect(doc.status).toBe(200);
    expect(doc.body.openapi).toBe('3.1.0');
    expect(Object.keys(doc.body.paths)).toEqual(expect.arrayContaining(['/apps', '/apps/{id}', '/apps/{id}/releases', '/apps/{id}/rollback']));
    const create = doc.body.paths['/apps'].post.requestBody.content['application/json'].schema;
    expect(Object.keys(create.properties)).toEqual(expect.arrayContaining(['name', 'target_cluster_id', 'task_type', 'artifact_url', 'port', 'resource_spec', 'profile', 'secrets']));
    expect(create.additionalProperties).toBe(false);
    const docs = await fetch(`${base}/docs`, { redirect: 'manual' });
    expect([200, 302]).toContain(docs.status);
  });
});

describe('artifacts', () => {
  it('refuses an artifact_url on a private or metadata address, before storing anything', async () => {
    for (const [url, code] of [
      ['http://169.254.169.254/latest/meta-data/app.jar', 'artifact_url_private_address'],
      ['http://10.0.0.1/app.jar', 'artifact_url_private_address'],
      ['http://127.0.0.1:8081/app.jar', 'artifact_url_private_address'],
      ['http://metadata.test/app.jar', 'artifact_url_private_address'],
    ] as const) {
      const r = await call('POST', '/apps', { ...seedRequest, name: 'ssrf', artifact_url: url });
      expect(r.status, url).toBe(400);
      expect(r.body.error.code, url).toMatch(/^artifact_url_/);
      void code;
    }
    expect(await database.db.selectFrom('apps').select('id').where('name', '=', 'ssrf').execute()).toHaveLength(0);
  });

  it('uploads a jar from disk and deploys from its artifact_url', async () => {
    const jar = Buffer.concat([Buffer.from('PK\x03\x04'), Buffer.alloc(200_000, 7)]);
    const uploaded = await fetch(`${base}/artifacts?filename=petclinic.jar`, {
      method: 'POST',
      headers: { authorization: `Bearer ${adminToken}`, 'content-type': 'application/java-archive' },
      body: jar,
    });
    expect(uploaded.status).toBe(201);
    const artifact = (await uploaded.json()) as { sha256: string; size: number; artifact_url: string };
    expect(artifact.size).toBe(jar.length);
    // No app_type: the uploaded file's name (petclinic.jar) tells it.
    const created = await call('POST', '/apps', { ...seedRequest, name: 'from-laptop', artifact_url: artifact.artifact_url });
    expect(created.status, JSON.stringify(created.body)).toBe(202);
    expect(created.body.release.spec.artifact_url).toBe(artifact.artifact_url);
    expect(created.body.release.spec.app_type).toBe('jar');
    expect(created.body.app.app_type).toBe('jar');
    const unknown = await call('POST', '/apps', { ...seedRequest, name: 'from-nowhere', artifact_url: `appserving-artifact://sha256/${'0'.repeat(64)}` });
    expect(unknown.status).toBe(400);
  });

  it('refuses an upload over the limit and a file that is not a zip', async () => {
    const tooBig = await fetch(`${base}/artifacts?filename=big.jar`, {
      method: 'POST',
      headers: { authorization: `Bearer ${adminToken}`, 'content-type': 'application/octet-stream' },
      body: Buffer.concat([Buffer.from('PK\x03\x04'), Buffer.alloc(3 * 1024 * 1024)]),
    });
    expect([400, 413]).toContain(tooBig.status);
    const notZip = await fetch(`${base}/artifacts?filename=app.jar`, {
      method: 'POST',
      headers: { authorization: `Bearer ${adminToken}`, 'content-type': 'application/octet-stream' },
      body: Buffer.from('#!/bin/sh\necho not a jar\n'),
    });
    expect(notZip.status).toBe(400);
    expect(((await notZip.json()) as { error: { code: string } }).error.code).toBe('artifact_type');
  });
});

describe('authentication', () => {
  it('answers 401 without a token and keeps probes open', async () => {
    const anonymous = await fetch(`${base}/apps`, { signal: AbortSignal.timeout(5_000) });
    expect(anonymous.status).toBe(401);
    expect(((await anonymous.json()) as { error: { code: string } }).error.code).toBe('unauthorized');
    expect((await fetch(`${base}/healthz`, { signal: AbortSignal.timeout(5_000) })).status).toBe(200);
    expect((await fetch(`${base}/openapi.json`, { signal: AbortSignal.timeout(5_000) })).status).toBe(200);
  });
});

describe('status: timeline, wait and live events', () => {
  async function createApp(name: string) {
    const created = await call('POST', '/apps', { ...seedRequest, name });
    expect(created.status).toBe(202);
    return created.body as { app: { id: string; name: string; cluster: { id: string } }; release: { id: string; version: number } };
  }

  function statusEvent(created: Awaited<ReturnType<typeof createApp>>, status: string) {
    const release = { app_id: created.app.id, app_name: created.app.name, release_id: created.release.id, version: created.release.version, cluster_id: created.app.cluster.id };
    return createPublisher({ js: jetstream(nc), source: '/appserving/watcher' }).publish(ReleaseStatusChangedV1, {
      id: randomUUID(),
      appId: created.app.id,
      data: { release, status: status as 'progressing' },
    });
  }

  /** Reads SSE frames from a live response until `count` events (after the snapshot) have arrived. */
  async function readEvents(response: Response, count: number) {
    const reader = response.body!.pipeThrough(new TextDecoderStream()).getReader();
    let buffer = '';
    const frames: { id?: string; event?: string; data: string }[] = [];
    while (frames.filter((f) => f.event !== 'snapshot').length < count) {
      const { value, done } = await reader.read();
      if (done) break;
      buffer += value;
      let end: number;
      while ((end = buffer.indexOf('\n\n')) >= 0) {
        const raw = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        const frame: { id?: string; event?: string; data: string } = { data: '' };
        for (const line of raw.split('\n')) {
          if (line.startsWith('id: ')) frame.id = line.slice(4);
          else if (line.startsWith('event: ')) frame.event = line.slice(7);
          else if (line.startsWith('data: ')) frame.data += line.slice(6);
        }
        if (frame.event) frames.push(frame);
      }
    }
    await reader.cancel();
    return frames;
  }

  it('streams a snapshot, then status changes live, and resumes after Last-Event-ID', async () => {
    const created = await createApp('live-status');
    const controller = new AbortController();
    const live = await fetch(`${base}/apps/${created.app.id}/events`, { headers: { authorization: `Bearer ${adminToken}` }, signal: controller.signal });
    expect(live.status).toBe(200);
    expect(live.headers.get('content-type')).toContain('text/event-stream');
    const reading = readEvents(live, 2);
    await new Promise((r) => setTimeout(r, 300));
    await statusEvent(created, 'deploying');
    await statusEvent(created, 'progressing');
    const frames = await reading;
    controller.abort();
    expect(frames[0]?.event).toBe('snapshot');
    expect(JSON.parse(frames[0]?.data ?? '{}').id).toBe(created.app.id);
    const events = frames.filter((f) => f.event !== 'snapshot');
    expect(events.map((f) => JSON.parse(f.data).data.status)).toEqual(['deploying', 'progressing']);

    await statusEvent(created, 'succeeded');
    const resumed = await fetch(`${base}/apps/${created.app.id}/events`, { headers: { authorization: `Bearer ${adminToken}`, 'last-event-id': events[0]?.id ?? '' } });
    const replay = (await readEvents(resumed, 2)).filter((f) => f.event !== 'snapshot');
    expect(replay.map((f) => JSON.parse(f.data).data.status)).toEqual(['progressing', 'succeeded']);
  });

  it('a stream opened after the create still shows what happened in between (the current release\'s events)', async () => {
    const created = await createApp('late-watcher');
    await statusEvent(created, 'deploying');
    const controller = new AbortController();
    const live = await fetch(`${base}/apps/${created.app.id}/events`, { headers: { authorization: `Bearer ${adminToken}` }, signal: controller.signal });
    const reading = readEvents(live, 2);
    await new Promise((r) => setTimeout(r, 300));
    await statusEvent(created, 'progressing');
    const frames = await reading;
    controller.abort();
    expect(frames.filter((f) => f.event !== 'snapshot').map((f) => JSON.parse(f.data).data.status)).toEqual(['deploying', 'progressing']);
  });

  it('lists the timeline after an entry id, and waits for a terminal release or times out', async () => {
    const created = await createApp('wait-for-me');
    const waiting = call('GET', `/apps/${created.app.id}/wait?timeout=20s`);
    await new Promise((r) => setTimeout(r, 700));
    await database.db.updateTable('releases').set({ status: 'succeeded', finished_at: new Date() }).where('id', '=', created.release.id).execute();
    const done = await waiting;
    expect(done.status).toBe(200);
    expect(done.body).toMatchObject({ terminal: true, app: { current_release: { status: 'succeeded' } } });

    const other = await createApp('never-done');
    const timedOut = await call('GET', `/apps/${other.app.id}/wait?timeout=600ms`);
    expect(timedOut.status).toBe(504);
    expect(timedOut.body.error).toMatchObject({ code: 'wait_timeout' });
    expect((await call('GET', `/apps/${other.app.id}/wait?timeout=forever`)).status).toBe(400);

    await database.db
      .insertInto('timeline')
      .values({ event_id: randomUUID(), app_id: created.app.id, release_id: created.release.id, type: 'dev.appserving.release.status.v1', source: '/test', occurred_at: new Date(), data: JSON.stringify({ status: 'succeeded' }) })
      .execute();
    const timeline = await call('GET', `/apps/${created.app.id}/timeline`);
    expect(timeline.status).toBe(200);
    expect(timeline.body.items.map((i: { type: string }) => i.type)).toContain('dev.appserving.release.status.v1');
    const after = await call('GET', `/apps/${created.app.id}/timeline?after=${timeline.body.items[0].id}`);
    expect(after.body.items).toHaveLength(timeline.body.items.length - 1);
  });
});

describe('projects: another project\'s apps do not exist for you', () => {
  it('scopes apps to the token\'s project, hides the others exactly like missing ones, and allows the same name per project', async () => {
    const project = async (name: string) => {
      const r = await call('POST', '/projects', { name, cluster_id: clusterId });
      expect(r.status, JSON.stringify(r.body)).toBe(201);
      return r.body.id as string;
    };
    const token = async (name: string, projectId: string) => {
      const r = await call('POST', '/tokens', { name, project_ids: [projectId] });
      expect(r.status, JSON.stringify(r.body)).toBe(201);
      return r.body.token as string;
    };
    const teamA = await token('team-a', await project('team-a'));
    const teamB = await token('team-b', await project('team-b'));
    const as = (t: string) => ({ authorization: `Bearer ${t}` });

    const mine = await call('POST', '/apps', { ...seedRequest, name: 'orders' }, as(teamA));
    expect(mine.status, JSON.stringify(mine.body)).toBe(202);
    const appId = mine.body.app.id as string;
    // The same name in another project on the same cluster is another app.
    const theirs = await call('POST', '/apps', { ...seedRequest, name: 'orders' }, as(teamB));
    expect(theirs.status, JSON.stringify(theirs.body)).toBe(202);
    expect(theirs.body.app.id).not.toBe(appId);

    const missing = await call('GET', `/apps/${randomUUID()}`, undefined, as(teamB));
    for (const [method, path, body] of [
      ['GET', `/apps/${appId}`, undefined],
      ['GET', `/apps/${appId}/releases`, undefined],
      ['GET', `/apps/${appId}/timeline`, undefined],
      ['PATCH', `/apps/${appId}`, { replicas: 3 }],
      ['POST', `/apps/${appId}/rollback`, {}],
      ['DELETE', `/apps/${appId}`, undefined],
    ] as const) {
      const hidden = await call(method, path, body, as(teamB));
      expect(hidden.status, `${method} ${path}`).toBe(404);
      expect(hidden.body.error.code).toBe(missing.body.error.code);
      expect(hidden.body.error.message).not.toContain('team-a');
    }
    const listed = await call('GET', '/apps', undefined, as(teamB));
    expect(listed.body.items.map((a: { id: string }) => a.id)).toEqual([theirs.body.app.id]);
    expect((await call('GET', `/apps/${appId}`, undefined, as(teamA))).status).toBe(200);
    expect((await call('GET', `/apps/${appId}`)).status).toBe(200); // admin
    expect((await call('POST', '/clusters', { name: 'x', kubeconfig: 'x' }, as(teamA))).status).toBe(403);

    // The list filters by exact name and project; visibility is decided before the limit, so a project's own
    // apps are listed however many newer ones other projects have.
    for (let i = 0; i < 3; i += 1) expect((await call('POST', '/apps', { ...seedRequest, name: `noise-${i}` })).status).toBe(202);
    const byName = await call('GET', '/apps?name=orders');
    expect(byName.body.items.map((a: { id: string }) => a.id).sort()).toEqual([appId, theirs.body.app.id].sort());
    const byProject = await call('GET', '/apps?name=orders&project=team-b');
    expect(byProject.body.items.map((a: { id: string }) => a.id)).toEqual([theirs.body.app.id]);
    const newest = await call('GET', '/apps?limit=1', undefined, as(teamA));
    expect(newest.body.items.map((a: { id: string }) => a.id)).toEqual([appId]);
    expect((await call('GET', '/apps?limit=0')).status).toBe(400);
    // Each app names its project (null for an admin's app of no project), in the list and alone.
    expect(byProject.body.items[0].project).toEqual({ id: expect.any(String), name: 'team-b' });
    expect((await call('GET', `/apps/${appId}`)).body.project).toMatchObject({ name: 'team-a' });
    expect(listed.body.next).toBeNull();

    // Pages: `next` leads through every app once, newest first, to a last page without `next`.
    const everything = (await call('GET', '/apps')).body.items.map((a: { id: string }) => a.id);
    expect(everything.length).toBeGreaterThanOrEqual(5);
    const paged: string[] = [];
    for (let after: string | null = null, pages = 0; pages === 0 || after; pages += 1) {
      const page = await call('GET', `/apps?limit=2${after ? `&after=${after}` : ''}`);
      expect(page.status).toBe(200);
      expect(page.body.items.length).toBeLessThanOrEqual(2);
      paged.push(...page.body.items.map((a: { id: string }) => a.id));
      after = page.body.next;
      expect(pages).toBeLessThan(10);
    }
    expect(paged).toEqual(everything);
    // A scoped token cannot page from an app it does not see; a cursor that is no app is refused by name.
    const foreign = await call('GET', `/apps?after=${appId}`, undefined, as(teamB));
    expect(foreign.status).toBe(400);
    expect(foreign.body.error).toMatchObject({ code: 'cursor_invalid', details: { field: 'after' } });
    expect((await call('GET', `/apps?after=${randomUUID()}`)).body.error.code).toBe('cursor_invalid');
    expect((await call('GET', '/apps?after=nope')).status).toBe(400);
  });
});

describe('app secrets', () => {
  it('are sealed per release, kept by an update that leaves them out, restored by a rollback, and never returned', async () => {
    const box = createSecretBox([DEV_SECRET_KEY]);
    const secretsOf = async (releaseId: string) => {
      const row = await database.db.selectFrom('releases').select(['secrets_encrypted', 'spec']).where('id', '=', releaseId).executeTakeFirstOrThrow();
      expect(JSON.stringify(row.spec)).not.toContain('hunter2');
      return row.secrets_encrypted ? (JSON.parse(box.decryptText(row.secrets_encrypted, `release-secrets:${releaseId}`)) as Record<string, string>) : undefined;
    };
    const created = await call('POST', '/apps', { ...seedRequest, name: 'with-secrets', secrets: { 'db.password': 'hunter2' } });
    expect(created.status).toBe(202);
    expect(JSON.stringify(created.body)).not.toContain('hunter2');
    expect(created.body.release.spec.secret_names).toEqual(['db.password']);
    const appId = created.body.app.id as string;
    expect(await secretsOf(created.body.release.id)).toEqual({ 'db.password': 'hunter2' });

    await finishOperations(appId, 'succeeded', '127.0.0.1:5000/with-secrets@sha256:' + '3'.repeat(64));
    const updated = await call('PATCH', `/apps/${appId}`, { replicas: 2 });
    expect(updated.status).toBe(202);
    expect(await secretsOf(updated.body.release.id)).toEqual({ 'db.password': 'hunter2' });

    await finishOperations(appId, 'succeeded');
    const changed = await call('PATCH', `/apps/${appId}`, { secrets: { 'db.password': 'correct-horse' } });
    expect(await secretsOf(changed.body.release.id)).toEqual({ 'db.password': 'correct-horse' });

    await finishOperations(appId, 'succeeded', '127.0.0.1:5000/with-secrets@sha256:' + '4'.repeat(64));
    const rolled = await call('POST', `/apps/${appId}/rollback`, { to_version: 'v1' });
    expect(rolled.status, JSON.stringify(rolled.body)).toBe(202);
    expect(await secretsOf(rolled.body.release.id)).toEqual({ 'db.password': 'hunter2' });
    const history = await call('GET', `/apps/${appId}/releases`);
    expect(JSON.stringify(history.body)).not.toMatch(/hunter2|correct-horse/);
  });
});
