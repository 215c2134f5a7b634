import { basename } from 'node:path';
import type { ProjectFile, ResourceSpec, VolumeSpec } from '../config/project-file.ts';
import { usageError } from '../errors.ts';

/**
 * What one `appserve deploy` asks for: its flags over the project file's defaults. Pure functions, so the rules
 * (what wins, how names are derived, what goes in the request) are unit-tested without a server.
 */
export interface DeployFlags {
  name?: string;
  cluster?: string;
  project?: string;
  image?: string;
  appType?: string;
  strategy?: string;
  resources?: string;
  profile?: string;
  port?: string;
  replicas?: string;
  healthPath?: string;
  appVersion?: string;
  env: string[];
  envFile: string[];
  config: string[];
  secret: string[];
  volume: string[];
  buildMethod?: string;
  buildOnly?: boolean;
  wait?: boolean;
  timeout?: string;
}

export interface DeploySettings {
  name: string;
  cluster?: string;
  project?: string;
  /** Absolute or cwd-relative path of what to upload; absent with `image`. */
  artifact?: string;
  image?: string;
  appType?: 'jar' | 'war' | 'python';
  strategy?: 'rolling' | 'canary' | 'blue-green';
  resources?: ResourceSpec;
  profile?: string;
  port?: number;
  replicas?: number;
  healthPath?: string;
  appVersion?: string;
  /** undefined: keep the app's current env (an update) / none (a create). */
  env?: Record<string, string>;
  /** File name in the pod → local path. */
  config?: Record<string, string>;
  /** Secret file name → local path, or `-` (stdin) / `?` (prompt). */
  secrets?: Record<string, string>;
  volumes?: VolumeSpec[];
  buildMethod?: 'direct' | 'kaniko';
  analysis?: Record<string, unknown>;
  autoscaling?: Record<string, unknown>;
  taskType: 'all' | 'build' | 'deploy';
  wait: boolean;
  timeoutMs: number;
}

export const APP_NAME = /^[a-z]([-a-z0-9]{0,38}[a-z0-9])?$/;
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
const FILE_NAME = /^[-._a-zA-Z0-9]{1,253}$/;

export function mergeDeploySettings(
  flags: DeployFlags,
  file: ProjectFile | undefined,
  artifactArgument: string | undefined,
  envFiles: Record<string, string>[],
): DeploySettings {
  const artifact = artifactArgument ?? (flags.image ? undefined : file?.artifact);
  const image = flags.image ?? (artifactArgument ? undefined : file?.image);
  if (artifact && image) throw usageError('give either an artifact to build or --image to deploy, not both');
  if (!artifact && !image) {
    throw usageError('nothing to deploy: give the path of a jar, war or Python project folder, or --image', 'e.g. `appserve deploy target/app.jar`; a project file (appserve.yaml) can name it');
  }
  const name = flags.name ?? file?.name ?? deriveAppName(artifact ?? image ?? '');
  if (!name) throw usageError(`cannot make an app name from ${artifact ?? image}: give one with --name`);
  if (!APP_NAME.test(name)) {
    throw usageError(`app name "${name}" is not valid: lowercase letters, digits and "-", starting with a letter, at most 40 characters`, 'choose one with --name');
  }
  if (flags.buildOnly && image) throw usageError('--build-only builds an artifact; it cannot be used with --image');

  const envFromFlags = flags.env.length > 0 || envFiles.length > 0 ? { ...Object.assign({}, ...envFiles), ...parsePairs(flags.env, '--env', ENV_NAME, 'an environment variable name') } : undefined;
  const env = file?.env || envFromFlags ? { ...file?.env, ...envFromFlags } : undefined;
  for (const key of Object.keys(env ?? {})) if (!ENV_NAME.test(key)) throw usageError(`"${key}" is not an environment variable name`);

  const config = mergeFiles(file?.config, flags.config, '--config');
  const secrets = mergeFiles(file?.secrets, flags.secret, '--secret', true);
  const stdinSecrets = Object.entries(secrets ?? {}).filter(([, source]) => source === '-');
  if (stdinSecrets.length > 1) throw usageError(`only one secret can be read from stdin (${stdinSecrets.map(([n]) => n).join(', ')} ask for it)`);

  const timeoutText = flags.timeout ?? file?.timeout ?? '30m';
  return {
    name,
    ...pick('cluster', flags.cluster ?? file?.cluster),
    ...pick('project', flags.project ?? file?.project),
    ...pick('artifact', artifact),
    ...pick('image', image),
    ...pick('appType', oneOf(flags.appType, ['jar', 'war', 'python'] as const, '--app-type') ?? file?.app_type),
    ...pick('strategy', oneOf(flags.strategy, ['rolling', 'canary', 'blue-green'] as const, '--strategy') ?? file?.strategy),
    ...pick('resources', flags.resources !== undefined ? parseResources(flags.resources) : file?.resources),
    ...pick('profile', flags.profile ?? file?.profile),
    ...pick('port', flags.port !== undefined ? parseInteger(flags.port, '--port', 1, 65535) : file?.port),
    ...pick('replicas', flags.replicas !== undefined ? parseInteger(flags.replicas, '--replicas', 0, 100) : file?.replicas),
    ...pick('healthPath', checkHealthPath(flags.healthPath ?? file?.health_path)),
    ...pick('appVersion', flags.appVersion),
    ...pick('env', env),
    ...pick('config', config),
    ...pick('secrets', secrets),
    ...pick('volumes', flags.volume.length > 0 ? flags.volume.map(parseVolume) : file?.volumes),
    ...pick('buildMethod', oneOf(flags.buildMethod, ['direct', 'kaniko'] as const, '--build-method') ?? file?.build_method),
    ...pick('analysis', file?.analysis),
    ...pick('autoscaling', file?.autoscaling),
    taskType: image ? 'deploy' : flags.buildOnly ? 'build' : 'all',
    wait: flags.wait ?? file?.wait ?? true,
    timeoutMs: parseDurationMs(timeoutText, '--timeout'),
  };
}

/** `target/orders-service-1.4.2-SNAPSHOT.jar` → `orders-service`; `~/code/My_App/` → `my-app`. */
export function deriveAppName(source: string): string | undefined {
  const last = basename(source.replace(/[\\/]+$/, '')).replace(/@sha256:.*$/, '');
  const withoutTag = source.includes('/') && last.includes(':') && !/\.(jar|war|zip)$/i.test(last) ? last.slice(0, last.indexOf(':')) : last;
  const stem = withoutTag
    .replace(/\.(jar|war|zip)$/i, '')
    .replace(/[-_.]SNAPSHOT$/i, '')
    .replace(/[-_.]v?[0-9]+([._-][0-9A-Za-z]+)*$/, '');
  const cleaned = stem
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, '-')
    .replace(/^[^a-z]+/, '')
    .slice(0, 40)
    .replace(/-+$/, '');
  return cleaned && APP_NAME.test(cleaned) ? cleaned : undefined;
}

export function parsePairs(pairs: string[], flag: string, keyPattern: RegExp, what: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const pair of pairs) {
    const at = pair.indexOf('=');
    if (at <= 0) throw usageError(`${flag} takes KEY=VALUE (got "${pair}")`);
    const key = pair.slice(0, at);
    if (!keyPattern.test(key)) throw usageError(`${flag}: "${key}" is not ${what}`);
    out[key] = pair.slice(at + 1);
  }
  return out;
}

/**
 * `--config PATH` (mounted under the file's own name) or `--config NAME=PATH`; for secrets also `NAME=-`
 * (stdin) and a bare `NAME` (typed at a hidden prompt, or stdin when it is not a terminal).
 */
function mergeFiles(fromFile: Record<string, string> | undefined, flags: string[], flag: string, secret = false): Record<string, string> | undefined {
  if (!fromFile && flags.length === 0) return undefined;
  const out: Record<string, string> = { ...fromFile };
  for (const entry of flags) {
    const at = entry.indexOf('=');
    let name: string;
    let source: string;
    if (at > 0) {
      name = entry.slice(0, at);
      source = entry.slice(at + 1);
      if (source === '') throw usageError(`${flag} ${name}= names no file${secret ? ' (use NAME=- to read the value from stdin)' : ''}`);
    } else if (secret) {
      name = entry;
      source = '?';
    } else {
      name = basename(entry);
      source = entry;
    }
    if (!FILE_NAME.test(name)) throw usageError(`${flag}: "${name}" is not a valid file name (letters, digits, ".", "-", "_")`);
    out[name] = source;
  }
  return out;
}

/** `data:/var/lib/app:1Gi` → a volume (a PersistentVolumeClaim) named `data`, mounted at /var/lib/app. */
export function parseVolume(text: string): VolumeSpec {
  const [name, mountPath, size, ...rest] = text.split(':');
  if (!name || !mountPath || !size || rest.length > 0 || !mountPath.startsWith('/')) {
    throw usageError(`--volume takes NAME:MOUNT_PATH:SIZE, e.g. data:/var/lib/app:1Gi (got "${text}")`);
  }
  return { name, mount_path: mountPath, size };
}

export function parseResources(text: string): ResourceSpec {
  if (text === 'small' || text === 'medium' || text === 'large') return text;
  const parts = Object.fromEntries(
    text.split(',').map((part) => {
      const [key, value] = part.split('=');
      return [key?.trim(), value?.trim()];
    }),
  ) as Record<string, string | undefined>;
  const { cpu, memory, ...rest } = parts;
  if (cpu && memory && Object.keys(rest).length === 0 && /^[0-9]+(\.[0-9]+)?m?$/.test(cpu) && /^[0-9]+(Ki|Mi|Gi|K|M|G)?$/.test(memory)) return { cpu, memory };
  throw usageError(`--resources must be small, medium, large or cpu=QUANTITY,memory=QUANTITY (e.g. cpu=500m,memory=1Gi); got "${text}"`);
}

export function parseInteger(text: string, flag: string, min: number, max: number): number {
  if (!/^[0-9]+$/.test(text) || Number(text) < min || Number(text) > max) throw usageError(`${flag} must be a whole number from ${min} to ${max} (got "${text}")`);
  return Number(text);
}

/** `90s`, `15m`, `1h`, `500ms`, or a plain number of seconds. */
export function parseDurationMs(text: string, flag: string): number {
  const match = /^([0-9]+(?:\.[0-9]+)?)(ms|s|m|h)?$/.exec(text.trim());
  if (!match) throw usageError(`${flag} must be a duration like 90s, 15m or 1h (got "${text}")`);
  const value = Number(match[1]);
  const unit = match[2] ?? 's';
  const ms = unit === 'ms' ? value : unit === 's' ? value * 1_000 : unit === 'm' ? value * 60_000 : value * 3_600_000;
  if (ms <= 0) throw usageError(`${flag} must be longer than 0`);
  return ms;
}

function checkHealthPath(path: string | undefined): string | undefined {
  if (path !== undefined && !path.startsWith('/')) throw usageError(`--health-path must start with / (got "${path}")`);
  return path;
}

function oneOf<const T extends readonly string[]>(value: string | undefined, choices: T, flag: string): T[number] | undefined {
  if (value === undefined) return undefined;
  if (!choices.includes(value)) throw usageError(`${flag} must be one of ${choices.join(', ')} (got "${value}")`);
  return value;
}

function pick<K extends string, V>(key: K, value: V | undefined): Partial<Record<K, V>> {
  return value === undefined ? {} : ({ [key]: value } as Record<K, V>);
}

/** The body of `POST /apps` (create) or `PATCH /apps/{id}` (a new release): only what this deploy sets. */
export function releaseBody(
  settings: DeploySettings,
  inputs: { artifactUrl?: string; artifactSha256?: string; appType?: 'jar' | 'war' | 'python'; config?: Record<string, string>; secrets?: Record<string, string> },
  create: boolean,
): Record<string, unknown> {
  const appType = settings.appType ?? inputs.appType;
  return {
    ...(create ? { name: settings.name, ...pick('target_cluster_id', settings.cluster), ...pick('project', settings.project) } : {}),
    task_type: settings.taskType,
    ...pick('version', settings.appVersion),
    ...pick('app_type', appType),
    ...pick('artifact_url', inputs.artifactUrl),
    ...pick('artifact_sha256', inputs.artifactSha256),
    ...pick('image_url', settings.image),
    ...pick('port', settings.port),
    ...pick('resource_spec', settings.resources),
    ...pick('profile', settings.profile),
    ...pick('strategy', settings.strategy),
    ...pick('env', settings.env),
    ...pick('config', inputs.config),
    ...pick('secrets', inputs.secrets),
    ...pick('replicas', settings.replicas),
    ...pick('health_path', settings.healthPath),
    ...pick('volumes', settings.volumes),
    ...pick('build_method', settings.buildMethod),
    ...pick('analysis', settings.analysis),
    ...pick('autoscaling', settings.autoscaling),
  };
}
