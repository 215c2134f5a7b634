import { randomUUID } from 'node:crypto';
import {
  AbortCommandV1,
  BuildCommandV1,
  ConflictError,
  DeployCommandV1,
  InputError,
  NotFoundError,
  PromoteCommandV1,
  RetryableError,
  releaseSpecProblems,
  type Database,
  type ReleasesTable,
  type AppType,
  type ReleaseSpecV1,
} from '@appserving/shared';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Kysely, Selectable, Transaction } from 'kysely';
import Type from 'typebox';
import { clusterOfApp, insertOperation, newAppResult, insertRelease, latestRelease, lockApp, nextVersion, releaseByVersion, resolveCluster, type TargetCluster } from '../adapters/app.repository.ts';
import { claimOf, idempotent, idempotentChange } from '../adapters/idempotency.ts';
import { newAppBatcher } from '../adapters/new-app-batcher.ts';
import { enqueue, outboxEntry, type OutboxEntry, type OutboxRelay } from '../adapters/outbox.ts';
import { isVisible, listAppViews, loadAppView, releaseView } from '../domain/app-views.ts';
import { buildCommandData, deployCommandData, firstCommandOf, releaseRef } from '../domain/commands.ts';
import { inferAppType, resolveRelease, secretsPayloadProblem } from '../domain/release-spec.ts';
import { startDelete } from '../adapters/app-delete.ts';
import type { ArtifactFacts } from '../adapters/artifact-check.ts';
import type { CheckedImage } from '@appserving/shared/artifacts';
import { AppIdParams, AppList, AppView, CreateAppBody, DeleteAppQuery, ErrorBody, ListAppsQuery, ReleaseParams, ReleaseView, RollbackBody, UpdateAppBody } from '../schemas/app.schemas.ts';

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
  projectFor(principal: Principal, clusterId: string, requested: string | undefined, db: Kysely<Database>): Promise<{ id: string; name: string } | null>;
  /** Encrypts app secret values at rest, bound to the release id; and back. */
  sealSecrets(plaintext: Buffer, releaseId: string): Buffer;
  openSecrets(ciphertext: Buffer, releaseId: string): Buffer;
  /**
   * Refuses an artifact_url the platform must not fetch (scheme, private or metadata addresses, unknown
   * upload). Called before anything is stored; the fetch itself happens in the build under the same rules.
   */
  checkArtifactUrl(url: string): Promise<ArtifactFacts>;
  /**
   * Refuses an image_url whose registry the target cluster may not pull from (not the platform's own registry,
   * not on the cluster's list, or on a private or metadata address). Called before anything is stored.
   */
  checkImageUrl(reference: string, cluster: TargetCluster): Promise<CheckedImage>;
}

const errors = { 400: ErrorBody, 404: ErrorBody, 409: ErrorBody };
/** How long a create trusts an earlier lookup of its target cluster. */
const CLUSTER_CACHE_MS = 5_000;
const Accepted = Type.Object({
  app: AppView,
  release: ReleaseView,
  operation: Type.Object({ id: Type.String(), kind: Type.String(), status: Type.String(), command_id: Type.String() }),
  warnings: Type.Optional(Type.Array(Type.String(), { description: 'What the platform accepted but advises against (e.g. an image_url without a digest).' })),
});
const Deleting = Type.Object({
  operation: Type.Unknown(),
  forced: Type.Optional(Type.Boolean()),
  left_behind: Type.Optional(
    Type.Object(
      { summary: Type.String(), cleanup: Type.Array(Type.String()) },
      { description: 'A forced delete: what may still be on the cluster, and the commands that remove it if the cluster answers again.' },
    ),
  ),
});

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
  const clusters = new Map<string, { cluster: TargetCluster; until: number }>();
  // Creates arriving together are written together: one statement and one commit for many.
  const newApps = newAppBatcher(db, deps.onCreateBatch ? { onBatch: deps.onCreateBatch } : {});
  async function targetCluster(named: string | undefined, fresh: boolean): Promise<TargetCluster> {
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
    const warnings = body.image_url === undefined ? [] : await checkedImageWarnings(body.image_url, await targetCluster(body.target_cluster_id, false));
    const outcome = await idempotentChange(db, claim, async () => {
      for (const fresh of [false, true]) {
        const cluster = await targetCluster(body.target_cluster_id, fresh);
        const project = await deps.projectFor(principal, cluster.id, body.project, db);
        const rows = newAppRows(body, resolved, { id: cluster.id, name: cluster.name }, project, warnings);
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

  /**
   * Checks an image_url against the cluster's registry policy; the answer's warnings when it is accepted (a tag
   * without a digest can move under a release: a rollback would then deploy something else).
   */
  async function checkedImageWarnings(reference: string, cluster: TargetCluster): Promise<string[]> {
    const { image } = await deps.checkImageUrl(reference, cluster);
    return image.digest
      ? []
      : [`image_url ${reference} names a tag, not a digest: the image it points to may change, and a rollback to this release would deploy whatever the tag names then; pin it with @sha256:…`];
  }

  /** Every row of a new app, and the answer to its create: all known before anything is written. */
  function newAppRows(body: CreateAppBody, resolved: ReturnType<typeof resolveRelease>, cluster: { id: string; name: string }, project: { id: string; name: string } | null, warnings: readonly string[]) {
    const createdAt = new Date();
    const appType = resolved.spec.app_type ?? 'jar';
    const appRow = { id: randomUUID(), name: body.name, clusterId: cluster.id, projectId: project?.id ?? null, appType, strategy: resolved.spec.strategy };
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
      project,
      app_type: appType,
      strategy: resolved.spec.strategy,
      status: 'pending',
      health_reason: null,
      current_release: releaseView(releaseRow),
      operation: operationView,
      endpoint: null,
      endpoints: { public: null, cluster: null },
      created_at: createdAt.toISOString(),
    };
    const body202 = { app: view, release: view.current_release, operation: operationView, ...(warnings.length > 0 ? { warnings } : {}) };
    return { app: appRow, release, operation, command, createdAt, answer: { status: 202, body: body202 } };
  }

  app.get(
    '/apps',
    {
      schema: {
        querystring: ListAppsQuery,
        response: { 200: AppList, 400: ErrorBody },
        summary: 'List the apps this token may see, newest first (at most `limit`, default 500; `after` = the previous page\'s `next`); `name` and `project` filter exactly',
        tags: ['apps'],
      },
    },
    async (request) => {
      const query = request.query as ListAppsQuery;
      return listAppViews(db, { visible: deps.principalOf(request).projects, name: query.name, project: query.project, limit: Number(query.limit ?? 500), after: query.after });
    },
  );

  app.get('/apps/:id', { schema: { params: AppIdParams, response: { 200: AppView, ...errors }, summary: 'Get an app, its current release and status', tags: ['apps'] } }, async (request) => {
    const { id } = request.params as AppIdParams;
    return loadAppView(db, id, deps.principalOf(request).projects);
  });

  app.patch(
    '/apps/:id',
    { schema: { params: AppIdParams, body: UpdateAppBody, response: { 202: Accepted, ...errors }, summary: 'Update an app: a new release; fields left out keep their values', tags: ['apps'] } },
    async (request, reply) => {
      const { id } = request.params as AppIdParams;
      const body = request.body as UpdateAppBody;
      // The image's registry is checked (DNS included) before the app's row is locked; only for an app the caller sees.
      const cluster = body.image_url === undefined ? undefined : await clusterOfApp(db, id);
      const warnings = cluster && isVisible(cluster.project_id, deps.principalOf(request).projects) && body.image_url ? await checkedImageWarnings(body.image_url, cluster) : [];
      return change(request, reply, async (trx, principal) => {
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
        const tooMuch = body.secrets === undefined ? secretsPayloadProblem(resolved.spec, secrets) : undefined;
        if (tooMuch) throw new InputError('invalid_request', `${tooMuch.path.slice(1)} ${tooMuch.message}`, { details: { problems: [tooMuch] } });
        const target = { id, name: current.name, clusterId: current.cluster_id };
        const { release, operation, entry } = await startRelease(trx, target, { ...resolved, secrets }, 'update', image);
        await trx.updateTable('apps').set({ strategy: resolved.spec.strategy, ...(resolved.spec.app_type ? { app_type: resolved.spec.app_type } : {}) }).where('id', '=', id).execute();
        const answer = { app: await loadAppView(trx, id), release: releaseView(release), operation, ...(warnings.length > 0 ? { warnings } : {}) };
        return { status: 202, body: answer, afterCommit: [entry] };
      });
    },
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
        // A release recorded before today's rules may carry a shape they refuse: say so, rather than fail later.
        const outdated = releaseSpecProblems(spec);
        if (outdated.length > 0) {
          throw new ConflictError('release_spec_outdated', `release ${target.version_label} has a spec the platform no longer accepts (${outdated.map((p) => `${p.path.slice(1)} ${p.message}`).join('; ')}): deploy a new release instead`, {
            details: { problems: outdated },
          });
        }
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

  app.delete(
    '/apps/:id',
    {
      schema: {
        params: AppIdParams,
        querystring: DeleteAppQuery,
        response: { 202: Deleting, ...errors },
        summary: 'Delete an app (history kept); with force=true, forget it on the platform at once even if its cluster is gone or unreachable',
        tags: ['apps'],
      },
    },
    (request, reply) =>
      change(request, reply, async (trx, principal) => {
        const { id } = request.params as AppIdParams;
        const force = (request.query as DeleteAppQuery).force === 'true';
        const current = await lockVisibleApp(trx, id, principal);
        // A delete does not wait behind a running build or rollout (or a delete that cannot reach the cluster): it
        // cancels it.
        const started = await startDelete(trx, current, { force, source: deps.source });
        const body = started.leftBehind ? { operation: started.operation, forced: true, left_behind: started.leftBehind } : { operation: started.operation };
        return { status: 202, body, afterCommit: [started.entry] };
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
