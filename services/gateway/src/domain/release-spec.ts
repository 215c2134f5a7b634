import { InputError, payloadBytes, payloadMessage, releaseSpecProblems, specLimits, type AppType, type FieldProblem, type ReleaseSpecV1, type TaskType } from '@appserving/shared';
import type { UpdateAppBody } from '../schemas/app.schemas.ts';

/** What a create or update asks for, resolved against the previous release: the next release's desired state. */
export interface ResolvedRelease {
  taskType: TaskType;
  spec: ReleaseSpecV1;
  /** Secret values by file name; stored encrypted, never in `spec` (which keeps only their names). */
  secrets: Record<string, string> | undefined;
  versionLabel: string | undefined;
}

export const specDefaults = {
  port: 8080,
  resource_spec: 'small',
  strategy: 'rolling',
  replicas: 1,
} as const;

/**
 * Merges a request into the previous release's spec (fields left out keep their previous values; for a new
 * app, the defaults), then checks that the task can run with what it has. Pure: no I/O.
 */
export function resolveRelease(body: UpdateAppBody, previous: ReleaseSpecV1 | undefined): ResolvedRelease {
  const problems: { path: string; message: string }[] = [];
  const taskType: TaskType = body.task_type ?? 'all';
  const artifactChanged = body.artifact_url !== undefined && body.artifact_url !== previous?.artifact_url;
  const appType = body.app_type ?? (artifactChanged ? inferAppType(body.artifact_url) : undefined) ?? previous?.app_type ?? inferAppType(body.artifact_url);

  const spec: ReleaseSpecV1 = {
    ...(appType ? { app_type: appType } : {}),
    ...pick('artifact_url', body.artifact_url, previous?.artifact_url),
    // A new artifact without its checksum must not inherit the old artifact's checksum.
    ...pick('artifact_sha256', body.artifact_sha256, artifactChanged ? undefined : previous?.artifact_sha256),
    ...pick('image_url', body.image_url, previous?.image_url),
    port: body.port === undefined ? (previous?.port ?? specDefaults.port) : Number(body.port),
    resource_spec: body.resource_spec ?? previous?.resource_spec ?? specDefaults.resource_spec,
    ...pick('profile', body.profile, previous?.profile),
    strategy: body.strategy ?? previous?.strategy ?? specDefaults.strategy,
    env: body.env ?? previous?.env ?? {},
    config: body.config ?? previous?.config ?? {},
    secret_names: body.secrets ? Object.keys(body.secrets).sort() : (previous?.secret_names ?? []),
    volumes: body.volumes ?? previous?.volumes ?? [],
    replicas: body.replicas ?? previous?.replicas ?? specDefaults.replicas,
    ...pick('health_path', body.health_path, previous?.health_path),
    ...pick('build_method', body.build_method, previous?.build_method),
    ...pick('analysis', body.analysis, previous?.analysis),
    ...pick('autoscaling', body.autoscaling, previous?.autoscaling),
    // `{}` turns the thresholds off (kept in the spec so a later release does not inherit older ones).
    ...pick('health_thresholds', body.health_thresholds, previous?.health_thresholds),
  };

  if (taskType === 'build' || taskType === 'all') {
    if (!spec.artifact_url) problems.push({ path: '/artifact_url', message: `is required for task_type ${taskType} (the jar, war or zip to build)` });
    if (!spec.app_type) {
      problems.push({ path: '/app_type', message: 'is required when it cannot be told from artifact_url (.jar, .war): one of jar, war, python' });
    }
  }
  if (taskType === 'deploy' && !spec.image_url && !previous) {
    problems.push({ path: '/image_url', message: 'is required for task_type deploy of a new app (the image to deploy)' });
  }
  if (spec.port > 65535) problems.push({ path: '/port', message: 'must be a port number from 1 to 65535' });
  problems.push(...releaseSpecProblems(spec));
  const tooMuch = problems.some((p) => p.path === '/config' || p.path === '/env') ? undefined : secretsPayloadProblem(spec, body.secrets);
  if (tooMuch) problems.push(tooMuch);
  if (problems.length > 0) {
    throw new InputError('invalid_request', problems.map((p) => `${p.path.slice(1)} ${p.message}`).join('; '), { details: { problems } });
  }
  const versionLabel = body.version === undefined ? undefined : String(body.version);
  return { taskType, spec, secrets: body.secrets, versionLabel };
}

/**
 * Secret values never travel in the spec, but they count toward what one release may carry (env, config and
 * secrets together, `specLimits.maxPayloadBytes`).
 */
export function secretsPayloadProblem(spec: ReleaseSpecV1, secrets: Record<string, string> | undefined): FieldProblem | undefined {
  if (!secrets) return undefined;
  const total = payloadBytes(spec.env) + payloadBytes(spec.config) + payloadBytes(secrets);
  return total > specLimits.maxPayloadBytes ? { path: '/secrets', message: payloadMessage(total) } : undefined;
}

function pick<K extends string, V>(key: K, value: V | undefined, previous: V | undefined): Partial<Record<K, V>> {
  const chosen = value ?? previous;
  return chosen === undefined ? {} : ({ [key]: chosen } as Record<K, V>);
}

export function inferAppType(url: string | undefined): AppType | undefined {
  if (!url) return undefined;
  const path = url.split(/[?#]/)[0]?.toLowerCase() ?? '';
  if (path.endsWith('.jar')) return 'jar';
  if (path.endsWith('.war')) return 'war';
  // A zip is a Python project (requirements.txt and its code): jar and war apps come as .jar and .war.
  if (path.endsWith('.zip')) return 'python';
  return undefined;
}

/** The in-cluster address of an app's Service. */
export function endpointOf(name: string, namespace: string, port: number): string {
  return `http://${name}.${namespace}.svc.cluster.local:${port}`;
}
