import { readFile, writeFile } from 'node:fs/promises';
import { dirname, isAbsolute, relative, resolve } from 'node:path';
import { isMap, isScalar, LineCounter, parseDocument, stringify } from 'yaml';
import { CliError, ExitCode } from '../errors.ts';

/**
 * `appserve.yaml`: an app's deploy defaults, kept next to its code, so a second deploy is just `appserve deploy`.
 * Paths in it are relative to the file. Secrets are named by file only: a secret value never goes in here.
 */
export const PROJECT_FILE = 'appserve.yaml';

export type ResourceSpec = 'small' | 'medium' | 'large' | { cpu: string; memory: string };

export interface ProjectFile {
  /** Absolute path of the file. */
  path: string;
  name?: string;
  server?: string;
  cluster?: string;
  project?: string;
  /** Absolute path of the jar, war, zip or Python project folder. */
  artifact?: string;
  image?: string;
  app_type?: 'jar' | 'war' | 'python';
  strategy?: 'rolling' | 'canary' | 'blue-green';
  resources?: ResourceSpec;
  profile?: string;
  port?: number;
  replicas?: number;
  health_path?: string;
  env?: Record<string, string>;
  /** File name in the pod → absolute local path. */
  config?: Record<string, string>;
  /** Secret file name in the pod → absolute local path of its value. */
  secrets?: Record<string, string>;
  volumes?: VolumeSpec[];
  build_method?: 'direct' | 'kaniko';
  /** Canary and blue/green analysis settings, as the API takes them (docs/api.md); checked by the server. */
  analysis?: Record<string, unknown>;
  /** A HorizontalPodAutoscaler: { min_replicas, max_replicas, cpu_percent? }; checked by the server. */
  autoscaling?: Record<string, unknown>;
  wait?: boolean;
  timeout?: string;
}

export interface VolumeSpec {
  name: string;
  mount_path: string;
  size: string;
}

type FieldCheck = (value: unknown, at: (message: string) => CliError) => unknown;

const string: FieldCheck = (value, at) => {
  if (typeof value === 'string' && value !== '') return value;
  if (typeof value === 'number') return String(value);
  throw at('must be a non-empty string');
};
const oneOf =
  (...choices: string[]): FieldCheck =>
  (value, at) => {
    if (typeof value === 'string' && choices.includes(value)) return value;
    throw at(`must be one of ${choices.join(', ')}`);
  };
const integer =
  (min: number, max: number): FieldCheck =>
  (value, at) => {
    const n = typeof value === 'string' && /^[0-9]+$/.test(value) ? Number(value) : value;
    if (typeof n === 'number' && Number.isInteger(n) && n >= min && n <= max) return n;
    throw at(`must be a whole number from ${min} to ${max}`);
  };
const boolean: FieldCheck = (value, at) => {
  if (typeof value === 'boolean') return value;
  throw at('must be true or false');
};
const stringMap: FieldCheck = (value, at) => {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) throw at('must be a map of names to values');
  const out: Record<string, string> = {};
  for (const [key, entry] of Object.entries(value as Record<string, unknown>)) {
    if (typeof entry !== 'string' && typeof entry !== 'number' && typeof entry !== 'boolean') throw at(`${key} must be a string`);
    out[key] = String(entry);
  }
  return out;
};
const resources: FieldCheck = (value, at) => {
  if (value === 'small' || value === 'medium' || value === 'large') return value;
  if (value && typeof value === 'object' && !Array.isArray(value)) {
    const { cpu, memory, ...rest } = value as Record<string, unknown>;
    if (Object.keys(rest).length === 0 && (typeof cpu === 'string' || typeof cpu === 'number') && typeof memory === 'string') return { cpu: String(cpu), memory };
  }
  throw at('must be small, medium, large, or { cpu: 500m, memory: 1Gi }');
};

const map: FieldCheck = (value, at) => {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) throw at('must be a map');
  return value;
};
const volumes: FieldCheck = (value, at) => {
  if (!Array.isArray(value)) throw at('must be a list of { name, mount_path, size }');
  return value.map((entry: unknown, index) => {
    const v = entry as Record<string, unknown> | null;
    if (!v || typeof v !== 'object' || typeof v.name !== 'string' || typeof v.mount_path !== 'string' || typeof v.size !== 'string' || Object.keys(v).length !== 3) {
      throw at(`entry ${index + 1} must be { name, mount_path, size } (e.g. { name: data, mount_path: /data, size: 1Gi })`);
    }
    return { name: v.name, mount_path: v.mount_path, size: v.size };
  });
};

const fields: Record<string, FieldCheck> = {
  name: string,
  server: string,
  cluster: string,
  project: string,
  artifact: string,
  image: string,
  app_type: oneOf('jar', 'war', 'python'),
  strategy: oneOf('rolling', 'canary', 'blue-green'),
  resources,
  profile: string,
  port: integer(1, 65535),
  replicas: integer(0, 100),
  health_path: string,
  env: stringMap,
  config: stringMap,
  secrets: stringMap,
  volumes,
  build_method: oneOf('direct', 'kaniko'),
  analysis: map,
  autoscaling: map,
  wait: boolean,
  timeout: string,
};

/** Reads `path`; undefined when it does not exist. A bad file is a usage error naming the line and the field. */
export async function loadProjectFile(path: string): Promise<ProjectFile | undefined> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new CliError(ExitCode.usage, 'project_file', `cannot read ${path}: ${(error as Error).message}`);
  }
  return parseProjectFile(text, path);
}

export function parseProjectFile(text: string, path: string): ProjectFile {
  const lines = new LineCounter();
  const document = parseDocument(text, { lineCounter: lines, prettyErrors: false });
  const located = (offset: number | undefined, message: string) => {
    const where = offset === undefined ? '' : `:${lines.linePos(offset).line}`;
    return new CliError(ExitCode.usage, 'project_file', `${path}${where}: ${message}`);
  };
  const first = document.errors[0];
  if (first) throw located(first.pos[0], first.message.split('\n')[0] ?? 'not valid YAML');
  if (document.contents === null) return { path };
  if (!isMap(document.contents)) throw located(0, 'must be a map of settings (name: orders, artifact: target/orders.jar, ...)');
  const base = dirname(path);
  const out: Record<string, unknown> = { path };
  for (const pair of document.contents.items) {
    const key = isScalar(pair.key) ? String(pair.key.value) : String(pair.key);
    const offset = isScalar(pair.key) ? pair.key.range?.[0] : undefined;
    const check = fields[key];
    if (!check) throw located(offset, `unknown setting "${key}" (known: ${Object.keys(fields).join(', ')})`);
    const raw: unknown = pair.value && typeof pair.value === 'object' && 'toJSON' in pair.value ? (pair.value as { toJSON(): unknown }).toJSON() : pair.value;
    const value = check(raw, (message) => located(offset, `${key} ${message}`));
    out[key] = value;
  }
  const file = out as unknown as ProjectFile;
  if (file.artifact) file.artifact = resolve(base, file.artifact);
  for (const key of ['config', 'secrets'] as const) {
    const map = file[key];
    if (map) file[key] = Object.fromEntries(Object.entries(map).map(([name, local]) => [name, resolve(base, local)]));
  }
  return file;
}

/**
 * Writes a new project file with what a first deploy used, so the next one needs no flags. Never overwrites:
 * an existing file is the user's. Secrets are written as the files they came from (never their values);
 * secrets read from stdin or typed at a prompt are left out.
 */
export async function writeProjectFile(path: string, settings: Omit<ProjectFile, 'path'>): Promise<void> {
  const base = dirname(path);
  const rel = (p: string) => {
    const r = relative(base, p);
    return r === '' ? '.' : isAbsolute(r) ? r : r.startsWith('.') ? r : `./${r}`;
  };
  const content: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(settings)) {
    if (value === undefined) continue;
    if (key === 'artifact') content[key] = rel(value as string);
    else if (key === 'config' || key === 'secrets') {
      const entries = Object.entries(value as Record<string, string>);
      if (entries.length > 0) content[key] = Object.fromEntries(entries.map(([name, local]) => [name, rel(local)]));
    } else if (key === 'env' && Object.keys(value as object).length === 0) continue;
    else content[key] = value;
  }
  const header = '# appserve deploy defaults (docs/cli.md). Paths are relative to this file; secrets name files, never values.\n';
  await writeFile(path, header + stringify(content), { flag: 'wx' });
}
