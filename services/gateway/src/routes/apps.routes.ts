import { randomUUID } from 'node:crypto';
import {
  AbortCommandV1,
  BuildCommandV1,
  ConflictError,
  DeleteCommandV1,
  DeployCommandV1,
  InputError,
  NotFoundError,
  PromoteCommandV1,
  RetryableError,
  type Database,
  type ReleasesTable,
  type AppType,
  type ReleaseSpecV1,
} from '@appserving/shared';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Kysely, Selectable, Transaction } from 'kysely';
import Type from 'typebox';
import { insertOperation, newAppResult, insertRelease, latestRelease, lockApp, nextVersion, releaseByVersion, resolveCluster, type ClusterRef } from '../adapters/app.repository.ts';
import { claimOf, idempotent, idempotentChange } from '../adapters/idempotency.ts';
import { newAppBatcher } from '../adapters/new-app-batcher.ts';
import { enqueue, outboxEntry, type OutboxEntry, type OutboxRelay } from '../adapters/outbox.ts';
import { isVisible, listAppViews, loadAppView, releaseView } from '../domain/app-views.ts';
import { buildCommandData, deployCommandData, firstCommandOf, releaseRef } from '../domain/commands.ts';
import { inferAppType, resolveRelease } from '../domain/release-spec.ts';
import type { ArtifactFacts } from '../adapters/artifact-check.ts';
import { AppIdParams, AppView, CreateAppBody, ErrorBody, ListAppsQuery, ReleaseParams, ReleaseView, RollbackBody, UpdateAppBody } from '../schemas/app.schemas.ts';

/** Who is calling: the auth layer decides; routes only ask. */
export interface Principal {
  id: string;
  /** Project ids this caller may see and act on, or 'all' (admin). */
  projects: readonly string[] | 'all';
}

export interface AppsRoutesDeps {
  db: Kysely<Database>;
  outbox: OutboxRelay;
  /** CloudEvents `source` of the commands the gateway publishes. */
  source: string;
  /** Told the size of each statement that creates new apps (the group commit of POST /apps). */
  onCreateBatch?: (size: number) => void;
  principalOf(request: FastifyRequest): Principal;
  /** The project a new app goes to (and the check that the caller may use it). */
  projectFor(principal: Principal, clusterId: string, requested: string | undefined, db: Kysely<Database>): Promise<string | null>;
  /** Encrypts app secret values at rest, bound to the release id; and back. */
  sealSecrets(plaintext: Buffer, releaseId: string): Buffer;
  openSecrets(ciphertext: Buffer, releaseId: string): Buffer;
  /**
   * Refuses an artifact_url the platform must not fetch (scheme, private or metadata addresses, unknown
   * upload). Called before anything is stored; the fetch itself happens in the build under the same rules.
   */
  checkArtifactUrl(url: string): Promise<ArtifactFacts>;
}

const errors = { 400: ErrorBody, 404: ErrorBody, 409: ErrorBody };
/** How long a create trusts an earlier lookup of its target cluster. */
const CLUSTER_CACHE_MS = 5_000;
const Accepted = Type.Object({ app: AppView, release: ReleaseView, operation: Type.Object({ id: Type.String(), kind: Type.String(), status: Type.String(), command_id: Type.String() }) });

export async function appsRoutes(app: FastifyInstance, deps: AppsRoutesDeps): Promise<void> {
  const { db } = deps;

  /** Runs a state change with its Idempotency-Key, then publishes what it enqueued. */
  async function change(
    request: FastifyRequest,
    reply: FastifyReply,
    work: (trx: Transaction<Database>, principal: Principal) => Promise<{ status: number; body: unknown; afterCommit?: OutboxEntry[] }>,
  ) {
    const principal = deps.principalOf(request);
    const key = idempotencyKeyOf(request);
    const outcome = await idempotent(db, { principal: principal.id, key, method: request.method, path: request.url, body: request.body ?? null }, (trx) =>
      work(trx, principal),
    );
    // Accepted means committed: the answer does not wait for NATS. The outbox relay publishes whatever this
    // immediate attempt could not (NATS down, process killed right here).
    if (outcome.afterCommit) void deps.outbox.publishNow(outcome.afterCommit);
    if (outcome.replayed) void reply.header('idempotent-replayed', 'true');
    return reply.code(outcome.status).send(outcome.body);
  }


  async function startRelease(
    trx: Transaction<Database>,
    target: { id: string; name: string; clusterId: string },
    resolved: ReturnType<typeof resolveRelease>,
    kind: 'create' | 'update' | 'rollback',
    image: string | null,
    skipAnalysis = false,
  ) {
    const version = kind === 'create' ? 1 : await nextVersion(trx, target.id);
    const releaseId = randomUUID();
    const release = await insertRelease(trx, {
      id: releaseId,
      appId: target.id,
      version,
      versionLabel: resolved.versionLabel ?? `v${version}`,
      taskType: resolved.taskType,
      spec: resolved.spec,
      secretsEncrypted: resolved.secrets ? deps.sealSecrets(Buffer.from(JSON.stringify(resolved.secrets)), releaseId) : null,
      imageRef: image,
    });
    const commandId = randomUUID();
    const operation = await insertOperation(trx, { appId: target.id, releaseId: release.id, kind, commandId });
    const ref = releaseRef(target, release);
    const entry =
      firstCommandOf(resolved.taskType) === 'build'
        ? await enqueue(trx, BuildCommandV1, { id: commandId, appId: target.id, source: deps.source, data: buildCommandData(ref, resolved.spec, resolved.taskType) })
        : await enqueue(trx, DeployCommandV1, {
            id: commandId,
            appId: target.id,
            source: deps.source,
            data: deployCommandData(ref, resolved.spec, image ?? '', skipAnalysis),
          });
    return { release, operation, entry };
  }

  // The target of a new app by what the request names (or the default), cached briefly: clusters change rarely,
  // and the create statement re-checks that the cluster is live, so a stale entry cannot create an app on a
  // removed cluster (it is dropped and looked up again).
  const clusters = new Map<string, { cluster: ClusterRef; until: number }>();
  // Creates arriving together are written together: one statement and one commit for many.
  const newApps = newAppBatcher(db, deps.onCreateBatch ? { onBatch: deps.onCreateBatch } : {});
  async function targetCluster(named: string | undefined, fresh: boolean): Promise<ClusterRef> {
    const key = named ?? '';
    const hit = clusters.get(key);
    if (!fresh && hit && hit.until > Date.now()) return hit.cluster;
    const cluster = await resolveCluster(db, named);
    clusters.set(key, { cluster, until: Date.now() + CLUSTER_CACHE_MS });
    return cluster;
  }

  app.post('/apps', { schema: { body: CreateAppBody, response: { 202: Accepted, ...errors }, summary: 'Create an app and its first release', tags: ['apps'] } }, async (request, reply) => {
    const body = request.body as CreateAppBody;
    const principal = deps.principalOf(request);
    const claim = claimOf({ principal: principal.id, key: idempotencyKeyOf(request), method: request.method, path: request.url, body });
    const resolved = resolveRelease(await withArtifactFacts(body), undefined);
    const outcome = await idempotentChange(db, claim, async () => {
      for (const fresh of [false, true]) {
        const cluster = await targetCluster(body.target_cluster_id, fresh);
        const projectId = await deps.projectFor(principal, cluster.id, body.project, db);
        const rows = newAppRows(body, resolved, cluster, projectId);
        const { written, targetLive } = newAppResult(rows, await newApps.create({ ...rows, ...(claim ? { record: { claim, ...rows.answer } } : {}) }));
        if (written) return { ...rows.answer, afterCommit: [rows.command], recorded: true };
        // Not written with a live target: the key was answered meanwhile; idempotentChange replays it.
        if (targetLive) return { ...rows.answer, recorded: false };
        // The cluster or project went away after it was looked up: look again (the second time raises the error).
        clusters.delete(body.target_cluster_id ?? '');
      }
      throw new RetryableError('target_changed', 'the target cluster or project changed while the app was being created; retry');
    });
    if (outcome.afterCommit) void deps.outbox.publishNow(outcome.afterCommit);
    if (outcome.replayed) void reply.header('idempotent-replayed', 'true');
    return reply.code(outcome.status).send(outcome.body);
  });

  /**
   * Checks the request's artifact_url (before anything is stored) and, for an uploaded artifact whose app_type
   * the request leaves out, takes it from the uploaded file's name.
   */
  async function withArtifactFacts<B extends { artifact_url?: string | undefined; app_type?: AppType | undefined }>(body: B): Promise<B> {
    if (body.artifact_url === undefined) return body;
    const facts = await deps.checkArtifactUrl(body.artifact_url);
    const appType = body.app_type ?? inferAppType(facts.filename);
    return appType === undefined ? body : { ...body, app_type: appType };
  }

  /** Every row of a new app, and the answer to its create: all known before anything is written. */
  function newAppRows(body: CreateAppBody, resolved: ReturnType<typeof resolveRelease>, cluster: ClusterRef, projectId: string | null) {
    const createdAt = new Date();
    const appType = resolved.spec.app_type ?? 'jar';
    const appRow = { id: randomUUID(), name: body.name, clusterId: cluster.id, projectId, appType, strategy: resolved.spec.strategy };
    const releaseId = randomUUID();
    const release = {
      id: releaseId,
      versionLabel: resolved.versionLabel ?? 'v1',
      taskType: resolved.taskType,
      spec: resolved.spec,
      secretsEncrypted: resolved.secrets ? deps.sealSecrets(Buffer.from(JSON.stringify(resolved.secrets)), releaseId) : null,
      imageRef: resolved.spec.image_url ?? null,
    };
    const operation = { id: randomUUID(), commandId: randomUUID() };
    const ref = releaseRef({ id: appRow.id, name: appRow.name, clusterId: cluster.id }, { id: releaseId, version: 1 });
    const command =
      firstCommandOf(resolved.taskType) === 'build'
        ? outboxEntry(BuildCommandV1, { id: operation.commandId, appId: appRow.id, source: deps.source, data: buildCommandData(ref, resolved.spec, resolved.taskType) })
        : outboxEntry(DeployCommandV1, { id: operation.commandId, appId: appRow.id, source: deps.source, data: deployCommandData(ref, resolved.spec, release.imageRef ?? '', false) });
    const releaseRow: Selectable<ReleasesTable> = {
      id: releaseId,
      app_id: appRow.id,
      version: 1,
      version_label: release.versionLabel,
      task_type: release.taskType,
      spec: resolved.spec,
      image_ref: release.imageRef,
      image_digest: null,
      helm_revision: null,
      endpoint: null,
      strategy: resolved.spec.strategy,
      status: 'pending',
      status_reason: null,
      diagnosis: null,
      canary_weight: null,
      created_at: createdAt,
      updated_at: createdAt,
      finished_at: null,
      secrets_encrypted: release.secretsEncrypted,
    };
    const operationView = { id: operation.id, kind: 'create', status: 'pending', command_id: operation.commandId };
    const view: AppView = {
      id: appRow.id,
      name: appRow.name,
      cluster,
      app_type: appType,
      strategy: resolved.spec.strategy,
      status: 'pending',
      current_release: releaseView(releaseRow),
      operation: operationView,
      endpoint: null,
      endpoints: { public: null, cluster: null },
      created_at: createdAt.toISOString(),
    };
    return { app: appRow, release, operation, command, createdAt, answer: { status: 202, body: { app: view, release: view.current_release, operation: operationView } } };
  }

  app.get(
    '/apps',
    {
      schema: {
        querystring: ListAppsQuery,
        response: { 200: Type.Object({ items: Type.Array(AppView) }), 400: ErrorBody },
        summary: 'List the apps this token may see, newest first (at most `limit`, default 500); `name` and `project` filter exactly',
        tags: ['apps'],
      },
    },
    async (request) => {
      const query = request.query as ListAppsQuery;
      const items = await listAppViews(db, { visible: deps.principalOf(request).projects, name: query.name, project: query.project, limit: Number(query.limit ?? 500) });
      return { items };
    },
  );

  app.get('/apps/:id', { schema: { params: AppIdParams, response: { 200: AppView, ...errors }, summary: 'Get an app, its current release and status', tags: ['apps'] } }, async (request) => {
    const { id } = request.params as AppIdParams;
    return loadAppView(db, id, deps.principalOf(request).projects);
  });

  app.patch(
    '/apps/:id',
    { schema: { params: AppIdParams, body: UpdateAppBody, response: { 202: Accepted, ...errors }, summary: 'Update an app: a new release; fields left out keep their values', tags: ['apps'] } },
    (request, reply) =>
      change(request, reply, async (trx, principal) => {
        const { id } = request.params as AppIdParams;
        const body = request.body as UpdateAppBody;
        const current = await lockVisibleApp(trx, id, principal);
        const previous = await latestRelease(trx, id);
        const resolved = resolveRelease(await withArtifactFacts(body), previous?.spec as ReleaseSpecV1 | undefined);
        const image = resolved.taskType === 'deploy' ? (body.image_url ?? previousImage(previous) ?? resolved.spec.image_url ?? null) : null;
        if (resolved.taskType === 'deploy' && !image) {
          throw new InputError('invalid_request', 'task_type deploy needs image_url: no earlier release has an image', { details: { problems: [{ path: '/image_url', message: 'is required' }] } });
        }
        // Secrets left out keep their previous values, like every other field.
        const secrets =
          body.secrets === undefined && previous?.secrets_encrypted
            ? (JSON.parse(deps.openSecrets(previous.secrets_encrypted, previous.id).toString('utf8')) as Record<string, string>)
            : resolved.secrets;
        const target = { id, name: current.name, clusterId: current.cluster_id };
        const { release, operation, entry } = await startRelease(trx, target, { ...resolved, secrets }, 'update', image);
        await trx.updateTable('apps').set({ strategy: resolved.spec.strategy, ...(resolved.spec.app_type ? { app_type: resolved.spec.app_type } : {}) }).where('id', '=', id).execute();
        return { status: 202, body: { app: await loadAppView(trx, id), release: releaseView(release), operation }, afterCommit: [entry] };
      }),
  );

  app.post(
    '/apps/:id/rollback',
    { schema: { params: AppIdParams, body: Type.Optional(RollbackBody), response: { 202: Accepted, ...errors }, summary: 'Redeploy an earlier release exactly, as a new release', tags: ['apps'] } },
    (request, reply) =>
      change(request, reply, async (trx, principal) => {
        const { id } = request.params as AppIdParams;
        const body = (request.body ?? {}) as RollbackBody;
        const current = await lockVisibleApp(trx, id, principal);
        const latest = await latestRelease(trx, id);
        const target = body.to_version === undefined ? await previousSuccessful(trx, id, latest?.version) : await releaseByVersion(trx, id, String(body.to_version));
        if (!target) {
          throw new NotFoundError('release_not_found', body.to_version === undefined ? 'no earlier successful release to roll back to' : `no release ${body.to_version} of this app`);
        }
        const image = previousImage(target);
        if (!image) throw new ConflictError('release_has_no_image', `release ${target.version_label} never produced an image; nothing to roll back to`);
        const spec = target.spec as ReleaseSpecV1;
        // The exact config of that release, secrets included (re-sealed for the new release).
        const secrets = target.secrets_encrypted ? (JSON.parse(deps.openSecrets(target.secrets_encrypted, target.id).toString('utf8')) as Record<string, string>) : undefined;
        const resolved = { taskType: 'deploy' as const, spec, secrets, versionLabel: undefined };
        const app = { id, name: current.name, clusterId: current.cluster_id };
        const { release, operation, entry } = await startRelease(trx, app, resolved, 'rollback', image, body.skip_analysis ?? false);
        return { status: 202, body: { app: await loadAppView(trx, id), release: releaseView(release), operation }, afterCommit: [entry] };
      }),
  );

  for (const [verb, messageType, kind] of [
    ['promote', PromoteCommandV1, 'promote'],
    ['abort', AbortCommandV1, 'abort'],
  ] as const) {
    app.post(
      `/apps/:id/${verb}`,
      { schema: { params: AppIdParams, response: { 202: Type.Object({ operation: Type.Unknown() }), ...errors }, summary: `${verb} the release waiting at its gate`, tags: ['apps'] } },
      (request, reply) =>
        change(request, reply, async (trx, principal) => {
          const { id } = request.params as AppIdParams;
          const current = await lockVisibleApp(trx, id, principal);
          const latest = await latestRelease(trx, id);
          if (!latest || latest.strategy === 'rolling') {
            throw new ConflictError('nothing_to_' + verb, `${verb} applies to a canary or blue-green release; the current release is ${latest ? 'rolling' : 'missing'}`);
          }
          // The release's own operation is the one in flight; promote/abort act on it rather than queue behind it.
          const commandId = randomUUID();
          const entry = await enqueue(trx, messageType, {
            id: commandId,
            appId: id,
            source: deps.source,
            data: { release: releaseRef({ id, name: current.name, clusterId: current.cluster_id }, latest) },
          });
          return { status: 202, body: { operation: { kind, command_id: commandId, release: latest.version_label } }, afterCommit: [entry] };
        }),
    );
  }

  app.delete('/apps/:id', { schema: { params: AppIdParams, response: { 202: Type.Object({ operation: Type.Unknown() }), ...errors }, summary: 'Delete an app (history kept)', tags: ['apps'] } }, (request, reply) =>
    change(request, reply, async (trx, principal) => {
      const { id } = request.params as AppIdParams;
      const current = await lockVisibleApp(trx, id, principal);
      const latest = await latestRelease(trx, id);
      const commandId = randomUUID();
      // A delete does not wait behind a running build or rollout: it cancels it. End the active operation first.
      await trx.updateTable('operations').set({ status: 'failed', finished_at: new Date() }).where('app_id', '=', id).where('status', 'in', ['pending', 'running']).execute();
      const operation = await insertOperation(trx, { appId: id, releaseId: latest?.id ?? null, kind: 'delete', commandId });
      await trx.updateTable('apps').set({ status: 'deleting' }).where('id', '=', id).execute();
      const ref = latest
        ? releaseRef({ id, name: current.name, clusterId: current.cluster_id }, latest)
        : releaseRef({ id, name: current.name, clusterId: current.cluster_id }, { id: randomUUID(), version: 1 });
      const entry = await enqueue(trx, DeleteCommandV1, { id: commandId, appId: id, source: deps.source, data: { release: ref } });
      return { status: 202, body: { operation }, afterCommit: [entry] };
    }),
  );

  app.get('/apps/:id/releases', { schema: { params: AppIdParams, response: { 200: Type.Object({ items: Type.Array(ReleaseView) }), ...errors }, summary: 'Release history', tags: ['apps'] } }, async (request) => {
    const { id } = request.params as AppIdParams;
    await loadAppView(db, id, deps.principalOf(request).projects);
    const rows = await db.selectFrom('releases').selectAll().where('app_id', '=', id).orderBy('version', 'desc').execute();
    return { items: rows.map(releaseView) };
  });

  app.get('/apps/:id/releases/:version', { schema: { params: ReleaseParams, response: { 200: ReleaseView, ...errors }, summary: 'One release, by version number or label', tags: ['apps'] } }, async (request) => {
    const { id, version } = request.params as ReleaseParams;
    await loadAppView(db, id, deps.principalOf(request).projects);
    const release = await releaseByVersion(db, id, version);
    if (!release) throw new NotFoundError('release_not_found', `no release ${version} of app ${id}`);
    return releaseView(release);
  });

  async function lockVisibleApp(trx: Transaction<Database>, id: string, principal: Principal) {
    const current = await lockApp(trx, id);
    if (!isVisible(current.project_id, principal.projects)) throw new NotFoundError('app_not_found', `no app with id ${id}`);
    return current;
  }
}

function idempotencyKeyOf(request: FastifyRequest): string | undefined {
  const raw = request.headers['idempotency-key'];
  if (raw === undefined) return undefined;
  const key = Array.isArray(raw) ? raw[0] : raw;
  if (!key || key.length > 255 || !/^[\x21-\x7e]+$/.test(key)) {
    throw new InputError('invalid_idempotency_key', 'Idempotency-Key must be 1 to 255 visible ASCII characters', { details: { header: 'Idempotency-Key' } });
  }
  return key;
}

function previousImage(release: { image_ref: string | null; image_digest: string | null } | undefined): string | null {
  if (!release?.image_ref) return null;
  if (!release.image_digest) return release.image_ref;
  return `${release.image_ref.split('@')[0] ?? release.image_ref}@${release.image_digest}`;
}

async function previousSuccessful(trx: Transaction<Database>, appId: string, beforeVersion: number | undefined) {
  return trx
    .selectFrom('releases')
    .selectAll()
    .where('app_id', '=', appId)
    .where('status', '=', 'succeeded')
    .$if(beforeVersion !== undefined, (qb) => qb.where('version', '<', beforeVersion ?? 0))
    .orderBy('version', 'desc')
    .limit(1)
    .executeTakeFirst();
}
