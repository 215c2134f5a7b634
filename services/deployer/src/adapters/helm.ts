import { execFile } from 'node:child_process';
import { chmod, mkdir, mkdtemp, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { classifyHelmFailure, type HelmFailureKind } from '../domain/helm-errors.ts';

/**
 * The real helm v3 CLI, run without a shell (argv array), values always from a file, kubeconfig from a 0600 file
 * in a private directory. Output is parsed from `-o json`; helm's stdout may hold values and manifests (secrets
 * included), so it is never logged, and stderr is scrubbed of the release's secret values before anyone sees it.
 */
export interface HelmRevision {
  revision: number;
  status: string;
  description: string;
  updated: string;
  chart: string;
}

export interface HelmTarget {
  release: string;
  namespace: string;
  /** A workspace from `openHelmWorkspace` (kubeconfig written). */
  workspace: HelmWorkspace;
  signal?: AbortSignal;
}

export class HelmError extends Error {
  override readonly name = 'HelmError';
  readonly kind: HelmFailureKind;
  /** helm's own message, scrubbed of secret values. */
  readonly detail: string;
  constructor(command: string, detail: string) {
    super(`helm ${command} failed: ${detail}`);
    this.detail = detail;
    this.kind = classifyHelmFailure(detail);
  }
}

export interface HelmWorkspace {
  readonly dir: string;
  readonly kubeconfigFile: string;
  /** Writes the values file (0600) and returns its path. */
  writeValues(values: unknown): Promise<string>;
  /** Strings that must never leave the process (secret values); scrubbed from helm's messages. */
  readonly secrets: readonly string[];
  dispose(): Promise<void>;
}

const WORKSPACE_PREFIX = 'appserving-deployer-';

/** A private directory (0700) for one operation: kubeconfig and values files (0600), helm's config and cache. */
export async function openHelmWorkspace(kubeconfig: string, secrets: readonly string[] = []): Promise<HelmWorkspace> {
  const dir = await mkdtemp(join(tmpdir(), WORKSPACE_PREFIX));
  await chmod(dir, 0o700);
  const kubeconfigFile = join(dir, 'kubeconfig.yaml');
  await writeFile(kubeconfigFile, kubeconfig, { mode: 0o600 });
  await mkdir(join(dir, 'helm'), { mode: 0o700 });
  return {
    dir,
    kubeconfigFile,
    secrets: secrets.filter((s) => s.length >= 4),
    async writeValues(values) {
      const file = join(dir, 'values.json');
      await writeFile(file, JSON.stringify(values), { mode: 0o600 });
      return file;
    },
    dispose: () => rm(dir, { recursive: true, force: true }),
  };
}

/**
 * Removes workspaces a process that died left behind (they hold kubeconfigs and secret values). Only those older
 * than `olderThanMs`, longer than any helm command runs, so another deployer's workspace in use is kept.
 */
export async function sweepStaleWorkspaces(olderThanMs: number): Promise<number> {
  let removed = 0;
  for (const name of await readdir(tmpdir())) {
    if (!name.startsWith(WORKSPACE_PREFIX)) continue;
    const dir = join(tmpdir(), name);
    const info = await stat(dir).catch(() => undefined);
    if (info?.isDirectory() && Date.now() - info.mtimeMs > olderThanMs) {
      await rm(dir, { recursive: true, force: true });
      removed += 1;
    }
  }
  return removed;
}

export interface HelmOptions {
  binary: string;
  timeoutMs: number;
}

export interface Helm {
  /** `helm version --short`; fails when the binary cannot be run. */
  version(): Promise<string>;
  /** Revisions, oldest first; empty when the release does not exist. */
  history(target: HelmTarget): Promise<HelmRevision[]>;
  /** The values a revision was installed with (user-supplied values only). */
  values(target: HelmTarget, revision: number): Promise<Record<string, unknown>>;
  /** `description` is recorded with the revision (`helm history` shows it) once it is deployed. */
  upgradeInstall(target: HelmTarget, chartDir: string, valuesFile: string, options: { historyMax: number; description: string }): Promise<{ revision: number; status: string }>;
  rollback(target: HelmTarget, revision: number, historyMax: number): Promise<void>;
  /** Uninstalls, waiting for the objects to be deleted; `false` when there was no such release. */
  uninstall(target: HelmTarget, timeoutSeconds: number): Promise<boolean>;
}

export function createHelm(options: HelmOptions): Helm {
  function run(target: HelmTarget, args: readonly string[]): Promise<string> {
    const { workspace } = target;
    const helmHome = join(workspace.dir, 'helm');
    const env = {
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      HOME: workspace.dir,
      KUBECONFIG: workspace.kubeconfigFile,
      HELM_CONFIG_HOME: join(helmHome, 'config'),
      HELM_CACHE_HOME: join(helmHome, 'cache'),
      HELM_DATA_HOME: join(helmHome, 'data'),
      HELM_DRIVER: 'secret',
    };
    const argv = [...args, '--namespace', target.namespace];
    return new Promise((resolve, reject) => {
      execFile(
        options.binary,
        argv,
        { env, timeout: options.timeoutMs, maxBuffer: 64 * 1024 * 1024, killSignal: 'SIGTERM', ...(target.signal ? { signal: target.signal } : {}) },
        (error, stdout, stderr) => {
          if (!error) return resolve(stdout);
          const command = args[0] ?? '';
          const timedOut = (error as { killed?: boolean }).killed === true && !target.signal?.aborted;
          const raw = timedOut ? `no answer within ${options.timeoutMs} ms (stopped)` : stderr.trim() || error.message;
          // No `cause`: Node's error message repeats helm's stderr unscrubbed, and causes end up in logs.
          reject(new HelmError(command, scrub(raw.replace(/^Error: /, ''), workspace.secrets)));
        },
      );
    });
  }

  return {
    version: () =>
      new Promise((resolve, reject) => {
        execFile(options.binary, ['version', '--short'], { timeout: 10_000, env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: tmpdir() } }, (error, stdout) => {
          if (error) reject(new Error(error.message));
          else resolve(stdout.trim());
        });
      }),
    async history(target) {
      try {
        const out = await run(target, ['history', target.release, '--max', '256', '-o', 'json']);
        return (JSON.parse(out) as HelmRevision[]).sort((a, b) => a.revision - b.revision);
      } catch (error) {
        if (error instanceof HelmError && error.kind === 'not-found') return [];
        throw error;
      }
    },
    async values(target, revision) {
      const out = await run(target, ['get', 'values', target.release, '--revision', String(revision), '-o', 'json']);
      return (JSON.parse(out) ?? {}) as Record<string, unknown>;
    },
    async upgradeInstall(target, chartDir, valuesFile, { historyMax, description }) {
      const out = await run(target, [
        'upgrade',
        target.release,
        chartDir,
        '--install',
        '--create-namespace',
        '--values',
        valuesFile,
        '--history-max',
        String(historyMax),
        '--description',
        description,
        '--timeout',
        `${Math.ceil(options.timeoutMs / 1000)}s`,
        '-o',
        'json',
      ]);
      const release = JSON.parse(out) as { version?: number; info?: { status?: string } };
      if (typeof release.version !== 'number') throw new HelmError('upgrade', 'helm reported no revision number');
      return { revision: release.version, status: release.info?.status ?? 'unknown' };
    },
    async rollback(target, revision, historyMax) {
      await run(target, ['rollback', target.release, String(revision), '--history-max', String(historyMax), '--timeout', `${Math.ceil(options.timeoutMs / 1000)}s`]);
    },
    async uninstall(target, timeoutSeconds) {
      try {
        await run(target, ['uninstall', target.release, '--wait', '--cascade', 'foreground', '--timeout', `${timeoutSeconds}s`]);
        return true;
      } catch (error) {
        if (error instanceof HelmError && error.kind === 'not-found') return false;
        throw error;
      }
    },
  };
}

/** Replaces every secret value (and its base64 form, as it appears in a Secret's data) with `[redacted]`. */
export function scrub(text: string, secrets: readonly string[]): string {
  let out = text;
  for (const secret of secrets) {
    for (const form of [secret, Buffer.from(secret).toString('base64')]) {
      if (form.length >= 4) out = out.split(form).join('[redacted]');
    }
  }
  return out;
}
