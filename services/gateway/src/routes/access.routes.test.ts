import { randomUUID } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  ConfigError,
  createDatabase,
  createLogger,
  createSecretBox,
  generateSecretKeySpec,
  httpErrorBodyOf,
  httpStatusOf,
  migrateToLatest,
  NotFoundError,
  parseSecretKeys,
  registerOpsRoutes,
  type Database,
  type DatabaseHandle,
  type Logger,
  type SecretBox,
} from '@appserving/shared';
import { createThrowawayDatabase } from '@appserving/shared/testing';
import Fastify, { type FastifyBaseLogger, type FastifyInstance, type InjectOptions } from 'fastify';
import type { Kysely } from 'kysely';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { kubeconfigAad, loadKubeconfig, registerLocalCluster } from '../adapters/cluster.repository.ts';
import { createClusterHealthMonitor } from '../adapters/cluster-health.ts';
import type { ClusterHealth, ClusterProbe } from '../adapters/cluster-probe.ts';
import { bootstrapAdminToken, hashApiToken } from '../auth/api-tokens.ts';
import { authPlugin } from '../auth/auth.plugin.ts';
import { assertProjectAccess } from '../auth/principal.ts';
import { testKubeconfig, type TestKubeconfig } from '../domain/kubeconfig.fixtures.ts';
import { typeboxValidatorCompiler } from '../http/validation.ts';
import { clustersRoutes } from './clusters.routes.ts';
import { projectsRoutes } from './projects.routes.ts';
import { tokensRoutes } from './tokens.routes.ts';

const databaseServer = process.env.APPSERVING_TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const adminToken = `admin-${randomUUID()}-${randomUUID()}`;

let throwaway: { url: string; drop(): Promise<void> };
let database: DatabaseHandle;
let db: Kysely<Database>;
let box: SecretBox;
let app: FastifyInstance;
/** Every log line the server wrote, and every response body it sent: searched for secrets. */
const logLines: string[] = [];
const bodies: string[] = [];
const kubeconfigs: TestKubeconfig[] = [];

/**
 * The gateway's access routes on a small app of their own: auth, the ops routes, the gateway's validator
 * compiler, and an error handler mapping the shared error kinds (as the gateway's does), plus a stand-in app
 * route that checks project access the way the apps routes do.
 */
async function buildApp(): Promise<FastifyInstance> {
  const log: FastifyBaseLogger = createLogger({ service: 'gateway-test', level: 'trace', destination: { write: (line: string) => logLines.push(line) } });
  const server = Fastify({ loggerInstance: log });
  server.setValidatorCompiler(typeboxValidatorCompiler);
  server.setErrorHandler((error, _request, reply) => {
    const status = (error as { statusCode?: number }).statusCode ?? httpStatusOf(error);
    return reply.code(status).send(status < 500 && httpStatusOf(error) === 500 ? { error: { code: 'bad_request', message: error instanceof Error ? error.message : '' } } : httpErrorBodyOf(error));
  });
  server.addHook('onSend', async (_request, _reply, payload) => {
    if (typeof payload === 'string') bodies.push(payload);
    return payload;
  });
  await server.register(authPlugin, { db });
  registerOpsRoutes(server, { registry: new Registry(), checks: [], isShuttingDown: () => false });
  server.get('/openapi.json', async () => ({ openapi: '3.1.0' }));
  server.get('/docs/static/index.html', async () => 'docs');
  await server.register(clustersRoutes, {
    db,
    box,
    addresses: { allowlist: [{ host: '127.0.0.1' }], resolve: async (host) => (host === 'metadata.test' ? ['169.254.169.254'] : host === 'internal.test' ? ['10.1.2.3'] : ['93.184.215.14']) },
    probe: fixtureProbe,
    health: createClusterHealthMonitor({ db, box, probe: fixtureProbe, intervalMs: 0, log: createLogger({ service: 'gateway-test', level: 'silent' }) }),
    // Commands of a forced removal stay in the outbox table, where the test reads them.
    outbox: { publishNow: async () => {}, start: () => {}, stop: async () => {} },
    source: '/appserving/gateway',
  });
  await server.register(projectsRoutes, { db });
  await server.register(tokensRoutes, { db });
  server.get<{ Params: { id: string } }>('/probe/apps/:id', async (request) => {
    const notFound = () => new NotFoundError('app_not_found', `no app with id ${request.params.id}`);
    const row = await db.selectFrom('apps').select(['id', 'name', 'project_id']).where('id', '=', request.params.id).executeTakeFirst();
    if (!row) throw notFound();
    assertProjectAccess(request.principal, row.project_id, notFound);
    return { id: row.id, name: row.name };
  });
  return server;
}

async function call(options: InjectOptions & { token?: string }) {
  const { token, ...rest } = options;
  const headers = { ...(rest.headers ?? {}), ...(token === undefined ? {} : { authorization: `Bearer ${token}` }) };
  const response = await app.inject({ ...rest, headers });
  const json = String(response.headers['content-type'] ?? '').startsWith('application/json');
  return { status: response.statusCode, headers: response.headers, body: json ? response.json() : undefined };
}

const asAdmin = (options: InjectOptions) => call({ ...options, token: adminToken });

/**
 * The test call of registration, for the made-up kubeconfigs of this file (their API servers do not exist): a
 * server on port 39999 does not answer, a token starting with `kubetoken-bad` is refused; the rest are fine. The
 * real test call, against the local cluster's API server, is in clusters.cluster.test.ts.
 */
const fixtureProbe: ClusterProbe = async (kubeconfig) => {
  const at = new Date().toISOString();
  if (kubeconfig.includes(':39999')) return { status: 'unreachable', message: 'the API server at 127.0.0.1:39999 cannot be reached: ECONNREFUSED', version: null, missing_permissions: [], checked_at: at };
  if (kubeconfig.includes('kubetoken-bad')) return { status: 'unauthorized', message: "the API server at 127.0.0.1:26400 does not accept the kubeconfig's credentials (401 Unauthorized)", version: null, missing_permissions: [], checked_at: at };
  return { status: 'ok', message: 'the API server at 127.0.0.1:26400 answers (v1.36.3)', version: 'v1.36.3', missing_permissions: [], checked_at: at };
};

beforeAll(async () => {
  throwaway = await createThrowawayDatabase(databaseServer);
  database = createDatabase({ url: throwaway.url, poolMax: 6, onPoolError: () => {} });
  db = database.db;
  await migrateToLatest(db);
  box = createSecretBox(parseSecretKeys(generateSecretKeySpec('test-1')));
  await bootstrapAdminToken(db, { configured: adminToken });
  app = await buildApp();
});

afterAll(async () => {
  await app?.close();
  await database?.close();
  await throwaway?.drop();
  // Whatever happened above: no kubeconfig secret and no plaintext token ever reached a response or the log.
  expect(logLines.some((line) => line.includes('"msg":"cluster registered"'))).toBe(true);
  expect(bodies.length).toBeGreaterThan(50);
  const everything = [...logLines, ...bodies].join('\n');
  for (const kubeconfig of kubeconfigs) for (const secret of kubeconfig.secrets) expect(everything).not.toContain(secret);
  expect(logLines.join('\n')).not.toContain(adminToken);
});

async function registerCluster(name: string, extra: Record<string, unknown> = {}) {
  const kubeconfig = testKubeconfig();
  kubeconfigs.push(kubeconfig);
  const response = await asAdmin({ method: 'POST', url: '/clusters', payload: { name, kubeconfig: kubeconfig.text, ...extra } });
  return { response, kubeconfig, id: response.body?.id as string };
}

describe('authentication', () => {
  it('leaves health, readiness, metrics and the API description open', async () => {
    for (const url of ['/healthz', '/readyz', '/metrics', '/openapi.json', '/docs/static/index.html']) {
      expect((await call({ method: 'GET', url })).status, url).toBe(200);
    }
  });

  it('answers 401 with a machine-readable body and a Bearer challenge without a valid token', async () => {
    const cases: [string, Record<string, string>, RegExp][] = [
      ['no header', {}, /^Bearer realm="appserving"$/],
      ['another scheme', { authorization: `Basic ${Buffer.from('a:b').toString('base64')}` }, /error="invalid_request"/],
      ['an unknown token', { authorization: 'Bearer aps_not-a-real-token' }, /error="invalid_token"/],
    ];
    for (const [what, headers, challenge] of cases) {
      for (const url of ['/clusters', '/projects', '/apps', '/no-such-route']) {
        const response = await call({ method: 'GET', url, headers });
        expect(response.status, `${what} ${url}`).toBe(401);
        expect(response.headers['www-authenticate']).toMatch(challenge);
        expect(response.body).toEqual({ error: { code: 'unauthorized', message: expect.any(String) } });
      }
    }
  });

  it('accepts the bootstrap admin token, which is stored only as its hash', async () => {
    expect((await asAdmin({ method: 'GET', url: '/clusters' })).status).toBe(200);
    const stored = await db.selectFrom('api_tokens').select(['token_hash', 'is_admin']).where('token_hash', '=', hashApiToken(adminToken)).executeTakeFirst();
    expect(stored).toEqual({ token_hash: hashApiToken(adminToken), is_admin: true });
  });

  it('works over a real socket with fetch', async () => {
    const server = await buildApp();
    const base = await server.listen({ host: '127.0.0.1', port: 0 });
    try {
      const open = await fetch(`${base}/healthz`);
      expect(open.status).toBe(200);
      const refused = await fetch(`${base}/clusters`);
      expect(refused.status).toBe(401);
      expect(refused.headers.get('www-authenticate')).toBe('Bearer realm="appserving"');
      expect(await refused.json()).toEqual({ error: { code: 'unauthorized', message: expect.any(String) } });
      const allowed = await fetch(`${base}/clusters`, { headers: { authorization: `Bearer ${adminToken}` } });
      expect(allowed.status).toBe(200);
      expect(await allowed.json()).toEqual({ clusters: expect.any(Array) });
    } finally {
      await server.close();
    }
  });
});

describe('clusters, projects and tokens', () => {
  it('registers a cluster without ever returning its kubeconfig, and stores it encrypted for its row', async () => {
    const { response, kubeconfig, id } = await registerCluster('prod-east');
    expect(response.status).toBe(201);
    expect(response.body).toEqual({
      id: expect.any(String),
      name: 'prod-east',
      api_server_url: kubeconfig.server,
      is_default: true,
      prometheus_url: null,
      placement: null,
      image_registries: null,
      health: { status: 'ok', message: expect.stringContaining('answers'), version: 'v1.36.3', missing_permissions: [], checked_at: expect.any(String) },
      created_at: expect.any(String),
    });

    const listed = await asAdmin({ method: 'GET', url: '/clusters' });
    expect(listed.body.clusters).toContainEqual(response.body);
    expect(JSON.stringify(listed.body)).not.toContain('kubeconfig');

    const row = await db.selectFrom('clusters').select('kubeconfig_encrypted').where('id', '=', id).executeTakeFirstOrThrow();
    expect(row.kubeconfig_encrypted.toString('latin1')).not.toContain(kubeconfig.text.slice(0, 40));
    for (const secret of kubeconfig.secrets) expect(row.kubeconfig_encrypted.includes(Buffer.from(secret))).toBe(false);
    expect(box.decryptText(row.kubeconfig_encrypted, kubeconfigAad(id))).toBe(kubeconfig.text);
    expect(await loadKubeconfig(db, box, id)).toBe(kubeconfig.text);
    expect(() => box.decrypt(row.kubeconfig_encrypted, kubeconfigAad(randomUUID()))).toThrow(/does not authenticate/);
  });

  it('registers a cluster with the Prometheus its canary analysis asks, and refuses one that is not an http(s) URL', async () => {
    const { response, id } = await registerCluster('with-prom', { prometheus_url: 'http://127.0.0.1:26407' });
    expect(response.status).toBe(201);
    expect(response.body.prometheus_url).toBe('http://127.0.0.1:26407');
    const row = await database.db.selectFrom('clusters').select('prometheus_url').where('id', '=', id).executeTakeFirstOrThrow();
    expect(row.prometheus_url).toBe('http://127.0.0.1:26407');

    const refused = await registerCluster('bad-prom', { prometheus_url: 'file:///etc/passwd' });
    expect(refused.response.status).toBe(400);
    expect(JSON.stringify(refused.response.body)).toContain('prometheus_url');
  });

  it('moves the default when asked, and refuses a taken name', async () => {
    const second = await registerCluster('prod-west', { default: true });
    expect(second.response.body.is_default).toBe(true);
    const { body } = await asAdmin({ method: 'GET', url: '/clusters' });
    expect(body.clusters.filter((c: { is_default: boolean }) => c.is_default).map((c: { name: string }) => c.name)).toEqual(['prod-west']);

    const again = await registerCluster('prod-west');
    expect(again.response.status).toBe(409);
    expect(again.response.body.error).toMatchObject({ code: 'cluster_name_taken', details: { field: 'name' } });
  });

  it('refuses an unusable kubeconfig without echoing it, and unknown fields by name', async () => {
    const kubeconfig = testKubeconfig();
    kubeconfigs.push(kubeconfig);
    const broken = kubeconfig.text.replace('current-context: appserving-test', 'current-context: nowhere');
    const response = await asAdmin({ method: 'POST', url: '/clusters', payload: { name: 'broken', kubeconfig: broken } });
    expect(response.status).toBe(400);
    expect(response.body.error).toEqual({ code: 'invalid_kubeconfig', message: 'kubeconfig has no context named "nowhere" (its current-context)', details: { field: 'kubeconfig' } });

    const notYaml = await asAdmin({ method: 'POST', url: '/clusters', payload: { name: 'broken', kubeconfig: `${kubeconfig.text}\n  - : [` } });
    expect(notYaml.status).toBe(400);
    expect(notYaml.body.error.code).toBe('invalid_kubeconfig');

    const unknown = await asAdmin({ method: 'POST', url: '/clusters', payload: { name: 'x', kubeconfig: kubeconfig.text, region: 'eu' } });
    expect(unknown.status).toBe(400);
    expect(JSON.stringify(unknown.body)).toContain('region');
  });

  it('gives a scoped token only its projects and their clusters, and nothing admin-only', async () => {
    const east = await registerCluster('scope-east');
    const west = await registerCluster('scope-west');
    const teamA = await asAdmin({ method: 'POST', url: '/projects', payload: { name: 'team-a', cluster_id: east.id } });
    expect(teamA.status).toBe(201);
    expect(teamA.body).toEqual({ id: expect.any(String), name: 'team-a', cluster_id: east.id, namespace: 'team-a', created_at: expect.any(String) });
    const teamB = await asAdmin({ method: 'POST', url: '/projects', payload: { name: 'team-b', cluster_id: west.id, namespace: 'b-apps' } });
    expect(teamB.status).toBe(201);

    const created = await asAdmin({ method: 'POST', url: '/tokens', payload: { name: 'team-a-ci', project_ids: [teamA.body.id] } });
    expect(created.status).toBe(201);
    expect(created.headers['cache-control']).toBe('no-store');
    const token = created.body.token as string;
    expect(created.body).toMatchObject({ name: 'team-a-ci', is_admin: false, project_ids: [teamA.body.id], token_prefix: token.slice(4, 12) });

    const tokens = await asAdmin({ method: 'GET', url: '/tokens' });
    expect(JSON.stringify(tokens.body)).not.toContain(token);
    expect(JSON.stringify(tokens.body)).not.toContain(hashApiToken(token));
    expect(tokens.body.tokens).toContainEqual(expect.objectContaining({ id: created.body.id, project_ids: [teamA.body.id], revoked_at: null }));

    const projects = await call({ method: 'GET', url: '/projects', token });
    expect(projects.body.projects.map((p: { name: string }) => p.name)).toEqual(['team-a']);
    const clusters = await call({ method: 'GET', url: '/clusters', token });
    expect(clusters.body.clusters.map((c: { name: string }) => c.name)).toEqual(['scope-east']);

    for (const [method, url, payload] of [
      ['POST', '/clusters', { name: 'mine', kubeconfig: testKubeconfig().text }],
      ['DELETE', `/clusters/${east.id}`, undefined],
      ['POST', '/projects', { name: 'mine', cluster_id: east.id }],
      ['POST', '/tokens', { name: 'more', project_ids: [teamB.body.id] }],
      ['GET', '/tokens', undefined],
      ['DELETE', `/tokens/${created.body.id}`, undefined],
    ] as const) {
      const response = await call({ method, url, token, ...(payload ? { payload } : {}) });
      expect(response.status, `${method} ${url}`).toBe(403);
      expect(response.body.error).toEqual({ code: 'forbidden', message: expect.stringMatching(/^only an admin token may /) });
    }
  });

  it('answers another project\'s app exactly like a missing one', async () => {
    const cluster = await registerCluster('apps-cluster');
    const mine = await asAdmin({ method: 'POST', url: '/projects', payload: { name: 'mine', cluster_id: cluster.id } });
    const theirs = await asAdmin({ method: 'POST', url: '/projects', payload: { name: 'theirs', cluster_id: cluster.id } });
    const insertApp = async (name: string, projectId: string | null) =>
      (
        await db
          .insertInto('apps')
          .values({ name, cluster_id: cluster.id, project_id: projectId, app_type: 'jar', strategy: 'rolling' })
          .returning('id')
          .executeTakeFirstOrThrow()
      ).id;
    const myApp = await insertApp('my-app', mine.body.id);
    const theirApp = await insertApp('their-app', theirs.body.id);
    const unscopedApp = await insertApp('old-app', null);
    const { body } = await asAdmin({ method: 'POST', url: '/tokens', payload: { name: 'mine-ci', project_ids: [mine.body.id] } });
    const token = body.token as string;

    expect((await call({ method: 'GET', url: `/probe/apps/${myApp}`, token })).body).toEqual({ id: myApp, name: 'my-app' });
    const missingId = randomUUID();
    const missing = await call({ method: 'GET', url: `/probe/apps/${missingId}`, token });
    for (const id of [theirApp, unscopedApp]) {
      const hidden = await call({ method: 'GET', url: `/probe/apps/${id}`, token });
      expect(hidden.status).toBe(404);
      expect(hidden.body).toEqual({ error: { code: 'app_not_found', message: `no app with id ${id}` } });
      expect(JSON.stringify(hidden.body).replaceAll(id, missingId)).toBe(JSON.stringify(missing.body));
      expect(Object.keys(hidden.headers).toSorted()).toEqual(Object.keys(missing.headers).toSorted());
    }
    // The admin reaches every project, and apps of no project.
    expect((await asAdmin({ method: 'GET', url: `/probe/apps/${theirApp}` })).status).toBe(200);
    expect((await asAdmin({ method: 'GET', url: `/probe/apps/${unscopedApp}` })).status).toBe(200);
  });

  it('refuses a duplicate project name or namespace, and a project on an unknown cluster', async () => {
    const cluster = await registerCluster('dup-cluster');
    expect((await asAdmin({ method: 'POST', url: '/projects', payload: { name: 'dup', cluster_id: cluster.id } })).status).toBe(201);
    const sameName = await asAdmin({ method: 'POST', url: '/projects', payload: { name: 'dup', cluster_id: cluster.id, namespace: 'other' } });
    expect(sameName.body.error).toMatchObject({ code: 'project_name_taken' });
    expect(sameName.status).toBe(409);
    const sameNamespace = await asAdmin({ method: 'POST', url: '/projects', payload: { name: 'dup-2', cluster_id: cluster.id, namespace: 'dup' } });
    expect(sameNamespace.body.error).toMatchObject({ code: 'namespace_taken' });
    const noCluster = await asAdmin({ method: 'POST', url: '/projects', payload: { name: 'lost', cluster_id: randomUUID() } });
    expect(noCluster.status).toBe(400);
    expect(noCluster.body.error).toMatchObject({ code: 'cluster_not_found', details: { field: 'cluster_id' } });
    const badName = await asAdmin({ method: 'POST', url: '/projects', payload: { name: 'Not_A_Label', cluster_id: cluster.id } });
    expect(badName.status).toBe(400);
  });

  it('refuses to remove a cluster still in use, naming the count, then removes it and erases its kubeconfig', async () => {
    const cluster = await registerCluster('busy-cluster');
    const project = await asAdmin({ method: 'POST', url: '/projects', payload: { name: 'busy', cluster_id: cluster.id } });
    const appIds: string[] = [];
    for (const name of ['busy-1', 'busy-2']) {
      appIds.push(
        (
          await db
            .insertInto('apps')
            .values({ name, cluster_id: cluster.id, project_id: project.body.id, app_type: 'jar', strategy: 'rolling' })
            .returning('id')
            .executeTakeFirstOrThrow()
        ).id,
      );
    }
    const refused = await asAdmin({ method: 'DELETE', url: `/clusters/${cluster.id}` });
    expect(refused.status).toBe(409);
    expect(refused.body.error).toEqual({
      code: 'cluster_in_use',
      message: 'cluster busy-cluster still has 2 apps and 1 project: delete them first, or remove the cluster with ?force=true',
      details: { apps: 2, projects: 1 },
    });

    const projectInUse = await asAdmin({ method: 'DELETE', url: `/projects/${project.body.id}` });
    expect(projectInUse.body.error).toMatchObject({ code: 'project_in_use', details: { apps: 2 } });
    await db.updateTable('apps').set({ deleted_at: new Date(), status: 'deleted' }).where('id', 'in', appIds).execute();
    expect((await asAdmin({ method: 'DELETE', url: `/projects/${project.body.id}` })).status).toBe(204);
    expect((await asAdmin({ method: 'DELETE', url: `/clusters/${cluster.id}` })).status).toBe(204);

    const { body } = await asAdmin({ method: 'GET', url: '/clusters' });
    expect(body.clusters.map((c: { id: string }) => c.id)).not.toContain(cluster.id);
    const row = await db.selectFrom('clusters').select(['deleted_at', 'kubeconfig_encrypted']).where('id', '=', cluster.id).executeTakeFirstOrThrow();
    expect(row.deleted_at).toBeInstanceOf(Date);
    expect(row.kubeconfig_encrypted).toHaveLength(0);
    expect((await asAdmin({ method: 'DELETE', url: `/clusters/${cluster.id}` })).body.error.code).toBe('cluster_not_found');
  });

  it('proves a cluster before saving it: addresses under the rules, then one test call; a refused one is not saved', async () => {
    const variant = (change: (text: string) => string) => {
      const kubeconfig = testKubeconfig();
      kubeconfigs.push(kubeconfig);
      return change(kubeconfig.text);
    };
    const cases: [string, string, Record<string, unknown>, string, string][] = [
      ['metadata server', variant((t) => t.replace('https://127.0.0.1:26400', 'https://169.254.169.254')), {}, 'cluster_server_private_address', 'kubeconfig'],
      ['private server', variant((t) => t.replace('https://127.0.0.1:26400', 'https://10.0.0.1:6443')), {}, 'cluster_server_private_address', 'kubeconfig'],
      ['a name that resolves to a private address', variant((t) => t.replace('https://127.0.0.1:26400', 'https://internal.test:6443')), {}, 'cluster_server_private_address', 'kubeconfig'],
      ['plain http', variant((t) => t.replace('https://127.0.0.1:26400', 'http://k8s.example.com')), {}, 'cluster_server_insecure', 'kubeconfig'],
      ['TLS unverified', variant((t) => t.replace('https://127.0.0.1:26400', 'https://k8s.example.com').replace('certificate-authority-data:', 'insecure-skip-tls-verify: true\n      x-ca:')), {}, 'cluster_tls_unverified', 'kubeconfig'],
      ['a proxy', variant((t) => t.replace('https://127.0.0.1:26400', 'https://k8s.example.com\n      proxy-url: socks5://proxy.example.com:1080')), {}, 'cluster_proxy_not_allowed', 'kubeconfig'],
      ['a private prometheus', variant((t) => t), { prometheus_url: 'http://10.0.0.7:9090' }, 'prometheus_url_private_address', 'prometheus_url'],
      ['a metadata prometheus', variant((t) => t), { prometheus_url: 'http://metadata.test/' }, 'prometheus_url_private_address', 'prometheus_url'],
      ['credentials in the server URL', variant((t) => t.replace('https://127.0.0.1:26400', 'https://user:pw@k8s.example.com')), {}, 'cluster_url_credentials', 'kubeconfig'],
      ['an API server that does not answer', variant((t) => t.replace('https://127.0.0.1:26400', 'https://127.0.0.1:39999')), {}, 'cluster_unreachable', 'kubeconfig'],
      ['credentials the API server refuses', variant((t) => t.replace(/kubetoken-/, 'kubetoken-bad')), {}, 'cluster_unauthorized', 'kubeconfig'],
    ];
    for (const [what, kubeconfig, extra, code, field] of cases) {
      const response = await asAdmin({ method: 'POST', url: '/clusters', payload: { name: 'refused', kubeconfig, default: true, ...extra } });
      expect(response.status, what).toBe(400);
      expect(response.body.error, what).toMatchObject({ code, details: { field } });
    }
    const { body } = await asAdmin({ method: 'GET', url: '/clusters' });
    expect(body.clusters.map((c: { name: string }) => c.name)).not.toContain('refused');
    expect(body.clusters.find((c: { name: string }) => c.name === 'refused')?.is_default).toBeUndefined();

    // A host on the allowlist (127.0.0.1 here) may be plain http and skip TLS verification: a cluster on the platform's network.
    const plain = variant((t) => t.replace('https://127.0.0.1:26400', 'http://127.0.0.1:26400').replace('certificate-authority-data:', 'insecure-skip-tls-verify: true\n      x-ca:'));
    const local = await asAdmin({ method: 'POST', url: '/clusters', payload: { name: 'plain-local', kubeconfig: plain } });
    expect(local.status).toBe(201);
    expect(local.body.api_server_url).toBe('http://127.0.0.1:26400');
  });

  it('keeps the registries a cluster\'s apps may pull from, shows its health, and checks it again when asked', async () => {
    const { response, id } = await registerCluster('with-registries', { image_registries: ['harbor.internal', '10.0.0.5:5000'] });
    expect(response.status).toBe(201);
    expect(response.body.image_registries).toEqual(['harbor.internal', '10.0.0.5:5000']);
    const bad = await registerCluster('bad-registries', { image_registries: ['Harbor.Internal/path'] });
    expect(bad.response.status).toBe(400);
    expect(JSON.stringify(bad.response.body)).toContain('/image_registries/0');

    const checked = await asAdmin({ method: 'POST', url: `/clusters/${id}/check` });
    expect(checked.status).toBe(200);
    expect(checked.body.health).toMatchObject({ status: 'ok', version: 'v1.36.3' });
    expect((await asAdmin({ method: 'POST', url: `/clusters/${randomUUID()}/check` })).status).toBe(404);
  });

  it('removes a cluster with its apps and projects by force: each app forgotten by a forced delete, with what may be left', async () => {
    const cluster = await registerCluster('dead-cluster');
    const project = await asAdmin({ method: 'POST', url: '/projects', payload: { name: 'dead', cluster_id: cluster.id } });
    const app = await db
      .insertInto('apps')
      .values({ name: 'stuck', cluster_id: cluster.id, project_id: project.body.id, app_type: 'jar', strategy: 'rolling', status: 'deleting' })
      .returning('id')
      .executeTakeFirstOrThrow();
    const refused = await asAdmin({ method: 'DELETE', url: `/clusters/${cluster.id}?force=maybe` });
    expect(refused.status).toBe(400);

    const removed = await asAdmin({ method: 'DELETE', url: `/clusters/${cluster.id}?force=true` });
    expect(removed.status).toBe(200);
    expect(removed.body.forgotten_apps).toEqual([
      {
        id: app.id,
        name: 'stuck',
        left_behind: { summary: expect.stringContaining(`appserving.dev/app-id=${app.id} in namespace dead`), cleanup: [expect.stringContaining('helm uninstall stuck --namespace dead'), expect.stringContaining('kubectl delete')] },
      },
    ]);
    const command = await db.selectFrom('outbox').select('event').where('type', '=', 'dev.appserving.command.delete.v1').orderBy('created_at', 'desc').executeTakeFirstOrThrow();
    expect(command.event).toMatchObject({ data: { force: true, release: { app_id: app.id, cluster_id: cluster.id } } });
    const operation = await db.selectFrom('operations').select(['kind', 'status']).where('app_id', '=', app.id).executeTakeFirstOrThrow();
    expect(operation).toEqual({ kind: 'delete', status: 'pending' });
    const projectRow = await db.selectFrom('projects').select('deleted_at').where('id', '=', project.body.id).executeTakeFirstOrThrow();
    expect(projectRow.deleted_at).toBeInstanceOf(Date);
    const { body } = await asAdmin({ method: 'GET', url: '/clusters' });
    expect(body.clusters.map((c: { id: string }) => c.id)).not.toContain(cluster.id);
  });

  it('revokes a token: it is refused from then on', async () => {
    const cluster = await registerCluster('revoke-cluster');
    const project = await asAdmin({ method: 'POST', url: '/projects', payload: { name: 'revoke', cluster_id: cluster.id } });
    const { body } = await asAdmin({ method: 'POST', url: '/tokens', payload: { name: 'short-lived', project_ids: [project.body.id] } });
    expect((await call({ method: 'GET', url: '/projects', token: body.token })).status).toBe(200);
    expect((await asAdmin({ method: 'DELETE', url: `/tokens/${body.id}` })).status).toBe(204);
    const refused = await call({ method: 'GET', url: '/projects', token: body.token });
    expect(refused.status).toBe(401);
    expect(refused.headers['www-authenticate']).toMatch(/invalid_token/);
  });
});

describe('cluster health', () => {
  it('is checked when first asked for, re-checked once stale, and each change of state is logged once', async () => {
    const { id, kubeconfig: watched } = await registerCluster('health-watched');
    let now = 1_000_000;
    // The watched cluster answers these in turn; the other clusters of this file are always fine.
    const answers: ClusterHealth['status'][] = ['ok', 'unreachable', 'unreachable', 'ok'];
    let calls = 0;
    const probe: ClusterProbe = async (kubeconfig) => {
      let status: ClusterHealth['status'] = 'ok';
      // The probe gets the cluster's kubeconfig, decrypted.
      if (kubeconfig === watched.text) {
        status = answers[Math.min(calls, answers.length - 1)] as ClusterHealth['status'];
        calls += 1;
      }
      return { status, message: status, version: status === 'ok' ? 'v1.36.3' : null, missing_permissions: [], checked_at: new Date(now).toISOString() };
    };
    const logged: [string, string][] = [];
    const log = {
      warn: (_o: unknown, message: string) => logged.push(['warn', message]),
      info: (_o: unknown, message: string) => logged.push(['info', message]),
    } as unknown as Logger;
    const monitor = createClusterHealthMonitor({ db, box, probe, intervalMs: 60_000, log, now: () => now });
    monitor.start();
    const settle = () => new Promise((resolve) => setTimeout(resolve, 50));
    await vi.waitFor(() => expect(monitor.get(id)?.status).toBe('ok'));
    const afterStart = calls;
    // Fresh: read without a new check.
    now += 30_000;
    expect(monitor.get(id)?.status).toBe('ok');
    await settle();
    expect(calls).toBe(afterStart);
    // Stale: the old result is shown while a new check runs.
    now += 31_000;
    expect(monitor.get(id)?.status).toBe('ok');
    await vi.waitFor(() => expect(monitor.get(id)?.status).toBe('unreachable'));
    expect(await monitor.check(id)).toMatchObject({ status: 'unreachable' });
    expect(await monitor.check(id)).toMatchObject({ status: 'ok' });
    expect(logged.filter(([, m]) => m === 'cluster is not healthy')).toHaveLength(1);
    expect(logged.filter(([, m]) => m === 'cluster is healthy again')).toHaveLength(1);
    // A removed cluster cannot be opened any more: its check says so instead of throwing.
    expect(await monitor.check(randomUUID())).toMatchObject({ status: 'error', message: expect.stringContaining('cannot be opened') });
    await monitor.stop();
  });
});

describe('registerLocalCluster', () => {
  it('registers the local cluster once, refreshes it on later starts, and re-encrypts it under the current key', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'appserving-local-'));
    try {
      const path = join(dir, 'kubeconfig.yaml');
      const first = testKubeconfig('https://127.0.0.1:26400');
      kubeconfigs.push(first);
      await writeFile(path, first.text, { mode: 0o600 });
      const created = await registerLocalCluster(db, box, path);
      expect(created).toEqual({ id: expect.any(String), created: true, apiServerUrl: 'https://127.0.0.1:26400' });
      // Other clusters are registered already in this file, one of them the default: local does not take it.
      const row = await db.selectFrom('clusters').select(['name', 'is_default']).where('id', '=', created.id).executeTakeFirstOrThrow();
      expect(row).toEqual({ name: 'local', is_default: false });

      const second = testKubeconfig('https://127.0.0.1:26500');
      kubeconfigs.push(second);
      await writeFile(path, second.text);
      const rotated = createSecretBox([...parseSecretKeys(generateSecretKeySpec('test-2')), ...parseSecretKeys(generateSecretKeySpec('test-1')).map((k) => ({ ...k, id: 'unused' }))]);
      const refreshed = await registerLocalCluster(db, rotated, path);
      expect(refreshed).toEqual({ id: created.id, created: false, apiServerUrl: 'https://127.0.0.1:26500' });
      const stored = await db.selectFrom('clusters').select(['kubeconfig_encrypted', 'api_server_url']).where('id', '=', created.id).executeTakeFirstOrThrow();
      expect(rotated.keyIdOf(stored.kubeconfig_encrypted)).toBe('test-2');
      expect(rotated.decryptText(stored.kubeconfig_encrypted, kubeconfigAad(created.id))).toBe(second.text);
      expect(stored.api_server_url).toBe('https://127.0.0.1:26500');
      expect(await db.selectFrom('clusters').select('id').where('name', '=', 'local').where('deleted_at', 'is', null).execute()).toHaveLength(1);

      await expect(registerLocalCluster(db, box, join(dir, 'missing.yaml'))).rejects.toThrow(ConfigError);
      await writeFile(path, 'current-context: nowhere\n');
      await expect(registerLocalCluster(db, box, path)).rejects.toThrow(/APPSERVING_LOCAL_CLUSTER_KUBECONFIG: .*kubeconfig has no context named "nowhere"/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('holds the local cluster to the address rules too, with loopback (and plain http on it) as its one explicit exception', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'appserving-local-'));
    const resolve = async (host: string) => (host === 'localhost' ? ['127.0.0.1'] : host === 'internal.test' ? ['10.1.2.3'] : ['93.184.215.14']);
    const attempt = async (server: string, options: { prometheusUrl?: string; allowlist?: { host: string }[]; change?: (text: string) => string } = {}) => {
      const kubeconfig = testKubeconfig(server);
      kubeconfigs.push(kubeconfig);
      const path = join(dir, 'kubeconfig.yaml');
      await writeFile(path, (options.change ?? ((t) => t))(kubeconfig.text), { mode: 0o600 });
      return registerLocalCluster(db, box, path, { resolve, ...(options.prometheusUrl ? { prometheusUrl: options.prometheusUrl } : {}), ...(options.allowlist ? { allowlist: options.allowlist } : {}) });
    };
    try {
      // Allowed: https or http on loopback (IPv4, IPv6, a name resolving there), a Prometheus on loopback.
      for (const server of ['https://127.0.0.1:26400', 'http://127.0.0.1:8080', 'https://[::1]:6443', 'https://localhost:6443']) {
        await expect(attempt(server, { prometheusUrl: 'http://127.0.0.1:26407' }), server).resolves.toMatchObject({ apiServerUrl: server });
      }
      // Refused, naming the setting: private and metadata addresses, plain http elsewhere, a proxy, a private Prometheus.
      await expect(attempt('https://10.0.0.1:6443')).rejects.toThrow(/APPSERVING_LOCAL_CLUSTER_KUBECONFIG: .*10\.0\.0\.1.*private/);
      await expect(attempt('https://169.254.169.254')).rejects.toThrow(ConfigError);
      await expect(attempt('https://internal.test:6443')).rejects.toThrow(/APPSERVING_CLUSTER_HOST_ALLOWLIST/);
      await expect(attempt('http://k8s.example.com:6443')).rejects.toThrow(/plain http/);
      await expect(attempt('https://127.0.0.1:26400', { change: (t) => t.replace('https://127.0.0.1:26400', 'https://127.0.0.1:26400\n      proxy-url: http://127.0.0.1:3128') })).rejects.toThrow(/proxy/);
      await expect(attempt('https://127.0.0.1:26400', { prometheusUrl: 'http://10.0.0.7:9090' })).rejects.toThrow(/- APPSERVING_LOCAL_CLUSTER_PROMETHEUS_URL: /);
      // The allowlist lets a private host through for the local cluster as for any other.
      await expect(attempt('https://internal.test:6443', { allowlist: [{ host: 'internal.test' }] })).resolves.toMatchObject({ apiServerUrl: 'https://internal.test:6443' });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
