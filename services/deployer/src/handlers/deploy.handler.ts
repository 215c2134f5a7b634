import {
  DeployCommandV1,
  DeployStepV1,
  InputError,
  isAppServingError,
  NotFoundError,
  on,
  releaseSecretsAad,
  SecretBoxError,
 
  type Database,
  type Handler,
  type HandlerContext,
  type Logger,
  type Publisher,
  type ReleaseRefV1,
  type SecretBox,
} from '@appserving/shared';
import type { ClusterAccessProvider } from '@appserving/shared/kube';
import type { KubeConfig } from '@kubernetes/client-node';
import type Type from 'typebox';
import type { Kysely } from 'kysely';
import type { AppLocks } from '../adapters/app-locks.ts';
import type { GateStore } from '../adapters/gate-store.ts';
import { HelmError, openHelmWorkspace, type Helm, type HelmTarget } from '../adapters/helm.ts';
import type { AppObjects } from '../adapters/kube-objects.ts';
import { loadReleaseContext } from '../adapters/release-context.repository.ts';
import { buildChartValues, publicEndpoint, type ExposureSettings } from '../chart/chart-values.ts';
import { deployStep } from '../domain/deploy-steps.ts';
import type { GateTokens } from '../domain/gate-token.ts';
import { pendingRepair, releaseOfDescription, releaseOfValues, revisionDescription } from '../domain/helm-plan.ts';

export interface DeployDeps {
  db: Kysely<Database>;
  clusters: ClusterAccessProvider;
  box: SecretBox;
  helm: Helm;
  locks: AppLocks;
  gates: GateStore;
  tokens: GateTokens;
  publisher: Publisher;
  objects: (kubeConfig: KubeConfig) => AppObjects;
  chartDir: string;
  settings: ExposureSettings & {
    helmHistoryMax: number;
    /** APPSERVING_APP_URL: how people reach an app by its host name. */
    appUrl: string;
    /** Base URL Flagger reaches the deployer at. */
    webhookBaseUrl: string;
    /** Deliveries before the runner gives up (the step is then published as failed first). */
    maxDeliveries: number;
  };
}

/**
 * deploy.v1: put a release on its cluster with `helm upgrade --install`, then publish `applied` with the helm
 * revision (or `failed` with the reason). The watcher follows the rollout from there.
 */
export function deployHandler(deps: DeployDeps): Handler {
  return on(DeployCommandV1, async (event, ctx) => {
    const { release } = event.data;
    const log = ctx.log.child({ appId: release.app_id, releaseId: release.release_id, version: release.version });
    await failOnGiveUp(deps, release, ctx, log, () => deploy(deps, event.data, ctx, log));
  });
}

type DeployData = Type.Static<typeof DeployCommandV1.data>;

async function deploy(deps: DeployDeps, data: DeployData, ctx: HandlerContext, log: Logger): Promise<void> {
  const { release, spec } = data;
  const context = await loadReleaseContext(deps.db, release);
  if (context.appDeleted) {
    log.info('the app is being deleted; the release is not installed');
    await publish(deps, release, 'failed', { reason: 'cancelled: the app is being deleted' });
    return;
  }
  const cluster = await deps.clusters.get(release.cluster_id).catch((error: unknown) => {
    if (error instanceof NotFoundError) throw new InputError('cluster_not_found', `the target cluster ${release.cluster_id} is not registered (or was removed)`);
    throw error;
  });
  const secrets = context.secretsEncrypted ? openSecrets(deps.box, context.secretsEncrypted, release.release_id) : {};
  const token = deps.tokens.tokenFor(release.app_id, release.release_id);
  const values = buildChartValues({
    release,
    spec,
    image: data.image,
    skipAnalysis: data.skip_analysis,
    appType: context.appType,
    versionLabel: context.versionLabel,
    namespace: context.namespace,
    secrets,
    prometheusUrl: cluster.prometheusUrl,
    placement: cluster.placement,
    clusterName: cluster.name,
    gateWebhookBase: `${deps.settings.webhookBaseUrl}/flagger/v1/apps/${release.app_id}/releases/${release.release_id}/${token}`,
    settings: deps.settings,
  });

  await deps.locks.run(release.app_id, log, async (leaseLost) => {
    const workspace = await openHelmWorkspace(cluster.kubeconfig, secretFragments(secrets));
    try {
      const target: HelmTarget = { release: release.app_name, namespace: context.namespace, workspace, signal: AbortSignal.any([ctx.signal, leaseLost]) };
      let history = await deps.helm.history(target);
      const repair = pendingRepair(history);
      if (repair) {
        log.warn({ stuck: repair.stuck, repair: repair.action }, 'helm release stuck in a pending state (a helm that never finished); repairing it');
        if (repair.action === 'rollback') await deps.helm.rollback(target, repair.to, deps.settings.helmHistoryMax);
        else await deps.helm.uninstall(target, 120);
        history = await deps.helm.history(target);
        log.info({ revision: history.at(-1)?.revision, status: history.at(-1)?.status }, 'stuck helm release repaired');
      }
      const latest = history.at(-1);
      if (latest) {
        const owner = releaseOfDescription(latest.description) ?? releaseOfValues(await deps.helm.values(target, latest.revision));
        if (owner?.id === release.release_id && latest.status === 'deployed') {
          log.info({ helmRevision: latest.revision }, 'this release is already applied (redelivered command); announcing it again');
          await publish(deps, release, 'applied', { helmRevision: latest.revision, endpoint: publicEndpoint(values, deps.settings.appUrl) });
          return;
        }
        if (owner && owner.version > release.version && latest.status === 'deployed') {
          await publish(deps, release, 'failed', { reason: `superseded: release version ${owner.version} of the app is already deployed, so this older release is not installed` });
          return;
        }
      }
      if (spec.strategy === 'rolling' && (await deps.objects(cluster.kubeConfig).removeCanary(context.namespace, release.app_name, 120_000))) {
        log.info('switched to rolling: removed the Flagger Canary and waited for its Services and primary Deployment to go');
      }
      if (spec.strategy !== 'rolling') await deps.gates.ensure(release);
      ctx.working();
      log.info({ namespace: context.namespace, strategy: spec.strategy, image: data.image, helmRevision: latest?.revision ?? null }, 'helm upgrade --install started');
      const started = performance.now();
      const result = await deps.helm.upgradeInstall(target, deps.chartDir, await workspace.writeValues(values), {
        historyMax: deps.settings.helmHistoryMax,
        description: revisionDescription(release),
      });
      log.info({ helmRevision: result.revision, status: result.status, tookMs: Math.round(performance.now() - started) }, 'release applied');
      await publish(deps, release, 'applied', { helmRevision: result.revision, endpoint: publicEndpoint(values, deps.settings.appUrl) });
    } finally {
      await workspace.dispose();
    }
  });
}

/**
 * Runs a step; when it fails for good (bad input, helm refusing the release, or the last delivery), publishes
 * `failed` (or what `onGiveUp` publishes) with a reason a person can act on. Not-found (no such app or release) goes to the dead-letter
 * stream at once: there is no release to fail.
 */
export async function failOnGiveUp(
  deps: { publisher: Publisher; settings: { maxDeliveries: number } },
  release: ReleaseRefV1, ctx: HandlerContext, log: Logger, work: () => Promise<void>,
  onGiveUp: (reason: string) => Promise<void> = (reason) => publish(deps, release, 'failed', { reason })): Promise<void> {
  try {
    await work();
  } catch (error) {
    if (ctx.signal.aborted) throw error;
    const permanent = isPermanent(error);
    if (!permanent && ctx.deliveryCount < deps.settings.maxDeliveries) throw error;
    const reason = reasonOf(error, permanent, ctx.deliveryCount);
    log.warn({ err: error, reason }, 'deploy step failed');
    await onGiveUp(reason);
    // A release the cluster refuses was handled (its outcome is `failed`); one that kept failing for other
    // reasons also goes to the dead-letter stream, with its deliveries, for an operator to look at.
    if (!permanent) throw error;
  }
}

function isPermanent(error: unknown): boolean {
  if (error instanceof HelmError) return error.kind === 'invalid';
  if (error instanceof SecretBoxError) return true;
  return isAppServingError(error) && error.kind === 'input';
}

function reasonOf(error: unknown, permanent: boolean, deliveries: number): string {
  const message =
    error instanceof HelmError
      ? `helm: ${error.detail}`
      : error instanceof SecretBoxError
        ? `the release's secret values cannot be opened with the configured keys (${error.message})`
        : error instanceof Error
          ? error.message
          : String(error);
  return permanent ? message : `gave up after ${deliveries} attempts: ${message}`;
}

async function publish(deps: Pick<DeployDeps, 'publisher'>, release: ReleaseRefV1, step: Parameters<typeof deployStep>[1], extra?: Parameters<typeof deployStep>[2]) {
  await deps.publisher.publish(DeployStepV1, deployStep(release, step, extra));
}

function openSecrets(box: SecretBox, sealed: Buffer, releaseId: string): Record<string, string> {
  const parsed = JSON.parse(box.decryptText(sealed, releaseSecretsAad(releaseId))) as unknown;
  if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) throw new InputError('secrets_malformed', 'the stored secret values are not an object of file name → content');
  return parsed as Record<string, string>;
}

/** Each secret value and each of its longer lines: what must be scrubbed from helm's messages. */
function secretFragments(secrets: Record<string, string>): string[] {
  return Object.values(secrets).flatMap((value) => [value, ...value.split('\n').map((line) => line.trim()).filter((line) => line.length >= 8)]);
}
