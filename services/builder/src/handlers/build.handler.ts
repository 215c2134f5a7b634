import { setTimeout as sleep } from 'node:timers/promises';
import type { Kysely } from 'kysely';
import {
  BuildCommandV1,
  InputError,
  RetryableError,
  isAppServingError,
  on,
  type Database,
  type Handler,
  type HandlerContext,
  type Logger,
  type Publisher,
  type ReleaseRefV1,
  type ReleaseSpecV1,
  type SecretBox,
} from '@appserving/shared';
import type { ClusterAccessProvider } from '@appserving/shared/kube';
import { parseArtifactHostAllowlist, type ArtifactStore, type HostResolver } from '@appserving/shared/artifacts';
import { readAppTarget } from '../adapters/app-target.ts';
import type { BuildMetrics } from '../adapters/build-metrics.ts';
import { stageArtifact, type StagedArtifact } from '../adapters/artifact-source.ts';
import { buildArtifactPath, buildArtifactToken } from '../adapters/build-artifacts.route.ts';
import { CANCELLED_ANNOTATION, type KanikoBuilds } from '../adapters/kaniko-builds.ts';
import { envOf, parsePlatform, resolveBaseImage, type BaseImage } from '../adapters/registry/base-image.ts';
import { pushDirectImage } from '../adapters/registry/direct-push.ts';
import { formatImageRef, parseImageRef } from '../adapters/registry/image-ref.ts';
import type { RegistryClient, Repo } from '../adapters/registry/registry-client.ts';
import { cacheKey, cacheTag, imageLabels, imageRepository, mirrorRepository, planBuild, versionTag, type BuildPlan } from '../domain/build-plan.ts';
import { pythonLauncher, renderDockerfile } from '../domain/dockerfile.ts';
import { inspectJarHead } from '../domain/jar-manifest.ts';
import { dockerConfigJson, KANIKO_CONTAINER, FETCH_CONTAINER, type KanikoBuildInput } from '../domain/kaniko-pod.ts';
import { buildPodState } from '../reconcile/build-pod.state.ts';
import type { BuilderConfig } from '../service.ts';
import { BuildEvents } from './build-events.ts';

/** A build that ended without an image, for a reason the release keeps (never retried). */
export class BuildFailure extends Error {
  override readonly name = 'BuildFailure';
  readonly logTail: readonly string[];
  constructor(reason: string, logTail: readonly string[] = []) {
    super(reason);
    this.logTail = logTail;
  }
}

export interface BuildDeps {
  readonly config: BuilderConfig;
  readonly publisher: Publisher;
  readonly db: Kysely<Database>;
  readonly clusters: ClusterAccessProvider;
  readonly box: SecretBox;
  readonly registry: RegistryClient;
  readonly store: () => ArtifactStore;
  readonly kaniko: KanikoBuilds;
  /** Deliveries before the runner gives a message up: the last one turns a retryable failure into build.failed. */
  readonly maxDeliveries: number;
  /** Tests only: resolves artifact hosts (never real DNS). */
  readonly resolve?: HostResolver;
  readonly metrics?: BuildMetrics;
}

interface BuildResult {
  digest: string;
  reused: boolean;
}

/** What one build has decided so far (for metrics). */
interface BuildTrace {
  method: 'direct' | 'kaniko' | 'unknown';
}

export function buildHandler(deps: BuildDeps): Handler {
  const { config } = deps;
  const allowlist = parseArtifactHostAllowlist(config.artifactHostAllowlist);
  const platform = parsePlatform(config.buildPlatform);
  const baseImages = { jar: config.baseImageJar, war: config.baseImageWar, python: config.baseImagePython };

  return on(BuildCommandV1, async (event, ctx) => {
    const { release, spec } = event.data;
    const log = ctx.log.child({ appId: release.app_id, releaseId: release.release_id, version: release.version });
    const events = new BuildEvents({ publisher: deps.publisher, ref: release, log, deliveryCount: ctx.deliveryCount });
    const started = Date.now();
    const trace: BuildTrace = { method: 'unknown' };
    const record = (outcome: 'built' | 'reused' | 'failed') => {
      deps.metrics?.builds.inc({ method: trace.method, outcome });
      deps.metrics?.buildSeconds.observe({ method: trace.method, outcome }, (Date.now() - started) / 1000);
    };
    try {
      const result = await build(release, spec, events, ctx, log, trace);
      // A delete accepted while the image was being made: no success, and no deploy, for an app on its way out.
      if ((await readAppTarget(deps.db, release.app_id))?.deleting) throw new BuildFailure('cancelled: app deleted');
      const repo = await targetRepo(release);
      const image = `${formatImageRef({ ...repo, tag: versionTag(release) })}@${result.digest}`;
      await events.succeeded(image, result.digest, result.reused);
      if (event.data.then_deploy) await events.deploy(spec, image);
      record(result.reused ? 'reused' : 'built');
      log.info({ image, reused: result.reused, tookMs: Date.now() - started }, 'build succeeded');
    } catch (error) {
      if (ctx.signal.aborted) throw error;
      const lastTry = ctx.deliveryCount >= deps.maxDeliveries;
      if (error instanceof BuildFailure || (isAppServingError(error) && error.kind !== 'retryable' && error.kind !== 'conflict') || lastTry) {
        const reason = error instanceof BuildFailure || !lastTry || (isAppServingError(error) && error.kind === 'input') ? (error as Error).message : `gave up after ${ctx.deliveryCount} attempts: ${(error as Error).message}`;
        log.warn({ err: error, reason }, 'build failed');
        await events.failed(reason, error instanceof BuildFailure ? error.logTail : []);
        record('failed');
        return;
      }
      throw error;
    }
  });

  async function targetRepo(release: ReleaseRefV1): Promise<Repo> {
    const app = await readAppTarget(deps.db, release.app_id);
    return imageRepository(config.registry, app?.namespace ?? 'default', release.app_name);
  }

  async function build(release: ReleaseRefV1, spec: ReleaseSpecV1, events: BuildEvents, ctx: HandlerContext, log: Logger, trace: BuildTrace): Promise<BuildResult> {
    const app = await readAppTarget(deps.db, release.app_id);
    // Another producer's command: the watcher registers its app and release when it records the command.
    if (!app) throw new RetryableError('app_not_registered', `app ${release.app_name} (${release.app_id}) is not registered yet; retrying`);
    if (app.deleting) throw new BuildFailure('cancelled: app deleted');
    if (!config.registry) throw new InputError('registry_not_configured', 'the builder has no registry to push images to: set APPSERVING_REGISTRY (e.g. harbor.example.com/appserving)');
    const plan = planBuild(spec, { defaultMethod: config.buildDefaultMethod, baseImages });
    trace.method = plan.method;
    const repo = imageRepository(config.registry, app.namespace, release.app_name);
    await events.started(plan.method);

    if (plan.method === 'kaniko') {
      const existing = await deps.kaniko.find(release.cluster_id, release.release_id);
      if (existing) {
        log.info('adopting the build Pod of an earlier delivery');
        events.note('building', 'the builder was restarted; following the build Pod already running');
        await deps.kaniko.own(release.cluster_id, existing);
        return { digest: await waitForPod(release, events, ctx, repo, existing.metadata?.annotations?.['appserving.dev/cache-key']), reused: false };
      }
    }

    const timeout = AbortSignal.timeout(config.buildTimeoutMs);
    const signal = AbortSignal.any([ctx.signal, timeout]);
    const timedOut = (during: string) => (error: unknown) => {
      throw timeout.aborted ? new BuildFailure(`the build took longer than ${minutes(config.buildTimeoutMs)} while ${during}`) : error;
    };
    const base = await resolveBaseImage(deps.registry, parseImageRef(plan.baseImage), platform, signal).catch(timedOut('resolving the base image'));
    events.progress('fetching-artifact', 'fetching the artifact');
    const artifact = await stageArtifact(spec.artifact_url as string, {
      store: deps.store(),
      appType: plan.appType,
      expectedSha256: spec.artifact_sha256,
      toStore: plan.method === 'kaniko',
      allowlist,
      maxBytes: config.artifactMaxBytes,
      signal,
      ...(deps.resolve ? { resolve: deps.resolve } : {}),
      onProgress: (done, total) => {
        ctx.working();
        events.progress('fetching-artifact', `fetched ${mib(done)}${total ? ` of ${mib(total)}` : ''}`, { done, total });
      },
    }).catch(timedOut('fetching the artifact'));
    // The line that completes the phase, also when the server did not say how large the artifact was.
    events.progress('fetching-artifact', `fetched ${mib(artifact.size)}, sha256 ${artifact.sha256.slice(0, 12)}…`, { done: artifact.size, total: artifact.size });
    if (plan.appType === 'jar') {
      const verdict = inspectJarHead(await readHead(artifact, 512 * 1024));
      if (verdict.kind === 'not-executable') {
        await artifact.dispose();
        throw new BuildFailure(`the artifact is not an executable jar: ${verdict.reason}; package it as one (Spring Boot: the spring-boot-maven-plugin repackage goal), or give app_type war for a web archive`);
      }
    }
    try {
      const key = cacheKey({ artifactSha256: artifact.sha256, baseDigest: base.digest, template: plan.template, port: plan.port, platform: config.buildPlatform });
      const cached = await deps.registry.headManifest(repo, cacheTag(key), signal).catch(timedOut('looking for an earlier image'));
      if (cached) {
        await tagImage(repo, cached.digest, [versionTag(release)], signal);
        log.info({ digest: cached.digest, key }, 'same artifact, base image and template as an earlier build: reusing its image');
        return { digest: cached.digest, reused: true };
      }
      if ((await readAppTarget(deps.db, release.app_id))?.deleting) throw new BuildFailure('cancelled: app deleted');
      if (plan.method === 'direct') return { digest: await directBuild(release, plan, base, artifact, repo, key, events, ctx, signal, timeout), reused: false };
      await startKanikoPod(release, plan, base, artifact, repo, key);
      return { digest: await waitForPod(release, events, ctx, repo, key), reused: false };
    } finally {
      await artifact.dispose();
    }
  }

  async function directBuild(
    release: ReleaseRefV1,
    plan: BuildPlan,
    base: BaseImage,
    artifact: StagedArtifact,
    repo: Repo,
    key: string,
    events: BuildEvents,
    ctx: HandlerContext,
    signal: AbortSignal,
    timeout: AbortSignal,
  ): Promise<string> {
    const jar = plan.appType === 'jar';
    const catalinaHome = (envOf(base.config, 'CATALINA_HOME') ?? '/usr/local/tomcat').replace(/^\/+|\/+$/g, '');
    events.progress('pushing', `pushing the image to ${repo.host}/${repo.repository}`, { done: 0, total: artifact.size });
    try {
      const result = await pushDirectImage(
        deps.registry,
        {
          base,
          target: repo,
          tags: [versionTag(release), cacheTag(key)],
          file: { path: jar ? 'app/app.jar' : `${catalinaHome}/webapps/ROOT.war`, size: artifact.size, open: () => artifact.open() },
          directories: jar ? ['app'] : [],
          image: {
            ...(jar ? { entrypoint: ['java', '-jar', '/app/app.jar'], workingDir: '/app' } : {}),
            env: jar ? { SERVER_PORT: String(plan.port) } : {},
            port: plan.port,
            labels: imageLabels(release, artifact.sha256, base.pinned, plan.template),
          },
          mirrorRepository: mirrorRepository(config.registry, base.repo.repository),
          createdBy: `AppServing ${plan.template}: ${jar ? 'app/app.jar' : 'webapps/ROOT.war'}`,
        },
        {
          signal,
          onProgress: (done, total) => {
            ctx.working();
            events.progress('pushing', `pushed ${mib(done)} of ${mib(total)}`, { done, total });
          },
          onBaseLayerCopy: (layer, into) => {
            ctx.working();
            events.note('pushing', `copying base image layer ${layer.digest.slice(7, 19)} (${mib(layer.size)}) into ${into.host}/${into.repository} (once for this registry)`);
          },
        },
      );
      return result.digest;
    } catch (error) {
      if (timeout.aborted) throw new BuildFailure(`the build took longer than ${minutes(config.buildTimeoutMs)} while pushing the image`);
      throw error;
    }
  }

  async function startKanikoPod(release: ReleaseRefV1, plan: BuildPlan, base: BaseImage, artifact: StagedArtifact, repo: Repo, key: string): Promise<void> {
    const publicUrl = (config.builderPublicUrl || `http://${config.httpHost}:${config.httpPort}`).replace(/\/+$/, '');
    const labels = imageLabels(release, artifact.sha256, base.pinned, plan.template);
    // The Pod may reach the registry under another name (APPSERVING_BUILD_POD_REGISTRY); the image keeps repo's.
    const podRepo = config.buildPodRegistry ? { ...repo, host: config.buildPodRegistry } : repo;
    const input: KanikoBuildInput = {
      ref: release,
      namespace: deps.kaniko.namespace,
      appType: plan.appType,
      destinations: [formatImageRef({ ...podRepo, tag: versionTag(release) }), formatImageRef({ ...podRepo, tag: cacheTag(key) })],
      cacheKey: key,
      dockerfile: renderDockerfile({ appType: plan.appType, template: plan.template, baseImage: base.pinned, port: plan.port, labels, catalinaHome: envOf(base.config, 'CATALINA_HOME') }),
      ...(plan.appType === 'python' ? { launcher: pythonLauncher() } : {}),
      artifactUrl: `${publicUrl}${buildArtifactPath(release.release_id, artifact.sha256)}`,
      fetchToken: buildArtifactToken(deps.box, release.release_id, artifact.sha256, Date.now() + config.buildTimeoutMs + 60_000),
      maxArtifactBytes: config.artifactMaxBytes,
      kanikoImage: config.kanikoImage,
      fetchImage: config.buildFetchImage,
      insecureRegistries: config.registryPlainHttp ? [...new Set([repo.host, podRepo.host])] : [],
      registryMap: podRepo.host !== repo.host ? { from: repo.host, to: podRepo.host } : undefined,
      dockerConfigJson: config.registryUsername ? dockerConfigJson(podRepo.host, config.registryUsername, config.registryPassword) : undefined,
      registrySecretName: config.buildRegistrySecret || undefined,
      timeoutMs: config.buildTimeoutMs,
      cpu: config.buildPodCpu,
      memory: config.buildPodMemory,
      extraLabels: config.buildPodLabels,
      extraAnnotations: config.buildPodAnnotations,
    };
    await deps.kaniko.create(release.cluster_id, input);
    // A delete accepted between the check before and this create has listed no Pod to cancel: look again.
    if ((await readAppTarget(deps.db, release.app_id))?.deleting) {
      await deps.kaniko.remove(release.cluster_id, release.release_id, 'cancelled: app deleted');
      throw new BuildFailure('cancelled: app deleted');
    }
  }

  /** Follows the build Pod to its end; removes it then, whatever the outcome. */
  async function waitForPod(release: ReleaseRefV1, events: BuildEvents, ctx: HandlerContext, repo: Repo, key: string | undefined): Promise<string> {
    const { cluster_id: clusterId, release_id: releaseId } = release;
    let deadline: number | undefined;
    for (;;) {
      const pod = await deps.kaniko.find(clusterId, releaseId);
      const cancelled = pod?.metadata?.annotations?.[CANCELLED_ANNOTATION];
      if (!pod || pod.metadata?.deletionTimestamp) {
        const deleting = (await readAppTarget(deps.db, release.app_id))?.deleting;
        throw new BuildFailure(cancelled ?? (deleting ? 'cancelled: app deleted' : 'the build Pod was deleted before the build finished'));
      }
      deadline ??= Date.parse(String(pod.metadata?.creationTimestamp ?? new Date().toISOString())) + config.buildTimeoutMs;
      const state = buildPodState(pod, Date.now(), deadline);
      switch (state.kind) {
        case 'running':
          events.still(state.phase, state.message, Date.parse(String(pod.metadata?.creationTimestamp ?? new Date().toISOString())));
          break;
        case 'succeeded':
          // Tags first, then the Pod goes: a builder killed in between finds the Pod again (and tags again), or,
          // once the Pod is gone, finds the image by its cache tag; never neither, which would build twice.
          // A retryable failure keeps the Pod, so the retry adopts it instead of building again.
          try {
            await verifyPushed(repo, state.digest, [versionTag(release), ...(key ? [cacheTag(key)] : [])]);
          } catch (error) {
            if (error instanceof BuildFailure) await deps.kaniko.remove(clusterId, releaseId);
            throw error;
          }
          await deps.kaniko.remove(clusterId, releaseId);
          return state.digest;
        case 'failed': {
          const tail = state.container ? await deps.kaniko.logTail(clusterId, releaseId, state.container, config.buildLogTailLines) : [];
          await deps.kaniko.remove(clusterId, releaseId);
          throw new BuildFailure(state.reason, tail);
        }
        case 'timed-out': {
          const container = state.phase === 'fetching-artifact' ? FETCH_CONTAINER : KANIKO_CONTAINER;
          const tail = await deps.kaniko.logTail(clusterId, releaseId, container, config.buildLogTailLines);
          await deps.kaniko.remove(clusterId, releaseId, 'timed out');
          throw new BuildFailure(`the build took longer than ${minutes(config.buildTimeoutMs)} (it was ${state.phase}); its Pod was removed`, tail);
        }
      }
      ctx.working();
      await sleep(config.buildPollIntervalMs, undefined, { signal: ctx.signal });
    }
  }

  /**
   * Kaniko said which digest it pushed: check the registry has that image, and that the release's tags name it.
   * When the registry cannot be reached from the builder, Kaniko's word stands.
   */
  async function verifyPushed(repo: Repo, digest: string, tags: readonly string[]): Promise<void> {
    try {
      const found = await deps.registry.headManifest(repo, digest);
      if (!found) throw new BuildFailure(`Kaniko reported image ${digest}, but ${repo.host}/${repo.repository} has no such image`);
      await tagImage(repo, digest, tags);
    } catch (error) {
      if (error instanceof BuildFailure || !isAppServingError(error) || error.code !== 'registry_unreachable') throw error;
    }
  }

  /** Makes each tag name the image `digest` (a manifest PUT of the same bytes; nothing moves when it already does). */
  async function tagImage(repo: Repo, digest: string, tags: readonly string[], signal?: AbortSignal): Promise<void> {
    let manifest: Awaited<ReturnType<RegistryClient['getManifest']>>;
    for (const tag of tags) {
      const current = await deps.registry.headManifest(repo, tag, signal);
      if (current?.digest === digest) continue;
      manifest ??= await deps.registry.getManifest(repo, digest, signal);
      if (!manifest) throw new BuildFailure(`image ${digest} vanished from ${repo.host}/${repo.repository} before it could be tagged ${tag}`);
      await deps.registry.putManifest(repo, tag, manifest.mediaType, manifest.bytes, signal);
    }
  }
}

/** The first `bytes` of the artifact (or all of it, when smaller). */
async function readHead(artifact: StagedArtifact, bytes: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of artifact.open()) {
    chunks.push(chunk as Buffer);
    size += (chunk as Buffer).length;
    if (size >= bytes) break;
  }
  return Buffer.concat(chunks).subarray(0, bytes);
}

const mib = (bytes: number) => `${(bytes / (1024 * 1024)).toFixed(1)} MiB`;
const minutes = (ms: number) => (ms >= 60_000 ? `${Math.round(ms / 60_000)} min` : `${Math.round(ms / 1000)} s`);
