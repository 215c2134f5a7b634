import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createWriteStream, type WriteStream } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createThrowawayDatabase, freePort, startTestNatsServer } from '@appserving/shared/testing';
import { localPlatformSettings, readClusterInfo, type ClusterInfo } from '@appserving/test-cluster';
import { seedBaseImages, type BaseImages } from './base-images.ts';
import { claimRealNode } from './real-node-claims.ts';

/**
 * The whole AppServing platform (`node packages/platform/src/main.ts`: gateway, builder, deployer and watcher in
 * one process) for one test file, the way an operator runs it, wired to the local test cluster:
 *
 * - its own nats-server and a throw-away Postgres database, free ports on 127.0.0.1;
 * - the local cluster registered as the default cluster `local` (kubeconfig and Prometheus of the cluster the
 *   `cluster` vitest project's global setup started: APPSERVING_TEST_KUBECONFIG, APPSERVING_TEST_PROMETHEUS);
 * - images pushed to the cluster's registry (APPSERVING_TEST_REGISTRY, plain HTTP) on top of synthetic base
 *   images seeded there (nothing can be pulled from the internet), helm from APPSERVING_TEST_HELM;
 * - short watcher graces and deadlines so failures show in seconds (override any setting with `env`);
 * - a known admin token; every line the process writes is kept (`logs()`, and a file for after the run).
 *
 * `stop()` sends SIGTERM and waits for the clean shutdown, then removes the namespaces its projects made, the
 * database and the NATS server. Settings the services add must be wired here too: see `clusterSettings`.
 */
export interface PlatformOptions {
  /** Settings (environment variables) over the harness's defaults. */
  env?: Record<string, string>;
  /** APPSERVING_LOG_LEVEL (default `info`). */
  logLevel?: string;
  /** How long start-up may take until every service answers /readyz (default 3 minutes). */
  readyTimeoutMs?: number;
  /** Postgres server for the throw-away database (default APPSERVING_TEST_DATABASE_URL or 127.0.0.1:5432). */
  databaseServer?: string;
  /**
   * Deploy and build on the local cluster's real node (kubelet + containerd): apps really run, on Debian-made
   * runtimes, and Kaniko builds really execute. Default: the simulated (kwok) node, where nothing runs.
   */
  realNode?: boolean;
  /**
   * With `realNode`: the CPU (millicores) the file's pods request at most at once on the real node. It is claimed
   * before the platform starts and given back at `stop()`, so files on the real node never overbook it together
   * (real-node-claims.ts). Default 1000.
   */
  realNodeCpu?: number;
}

export interface Platform {
  /** Base URL of the REST API (the gateway), e.g. http://127.0.0.1:41234. */
  url: string;
  adminToken: string;
  ports: { gateway: number; builder: number; deployer: number; watcher: number };
  databaseUrl: string;
  natsUrl: string;
  /** The environment the process runs with (holds secrets: never print it whole). */
  env: Readonly<Record<string, string>>;
  baseImages: BaseImages;
  /** Everything the process wrote (stdout and stderr, JSON log lines), so far. */
  logs(): string;
  /** The same, in a file that outlives the run. */
  logFile: string;
  /** Log lines (parsed) at warn or above. */
  problems(): Record<string, unknown>[];
  /** An admin-authenticated request to the API. */
  api<T = unknown>(method: string, path: string, body?: unknown): Promise<{ status: number; body: T }>;
  /**
   * Deletes an app and waits until the platform has forgotten it (GET answers 404) and its pods have had their
   * shutdown delay: on the real node a file's finished apps would otherwise keep their CPU until the file ends.
   */
  removeApp(appId: string): Promise<void>;
  /** A project with a namespace of its own on the local cluster (unique name), removed at stop. */
  createProject(prefix?: string): Promise<{ id: string; name: string; namespace: string }>;
  /** SIGTERM, then the clean shutdown; resolves with the exit code (or signal). */
  stop(): Promise<number | string>;
}

const repoRoot = fileURLToPath(new URL('../../', import.meta.url));
const platformMain = join(repoRoot, 'packages/platform/src/main.ts');

export interface TestClusterEnv {
  kubeconfig: string;
  prometheusUrl: string;
  registryHost: string;
  helmBinary: string;
  kubectlBinary: string | undefined;
}

/** The local cluster the `cluster` vitest project's global setup started, from the environment it exports. */
export function testClusterFromEnv(env: NodeJS.ProcessEnv = process.env): TestClusterEnv {
  const missing = ['APPSERVING_TEST_KUBECONFIG', 'APPSERVING_TEST_PROMETHEUS', 'APPSERVING_TEST_REGISTRY', 'APPSERVING_TEST_HELM'].filter((name) => !env[name]);
  if (missing.length > 0) {
    throw new Error(`the platform harness needs the local test cluster (${missing.join(', ')} unset): run the test in the cluster vitest project (name it *.cluster.test.ts)`);
  }
  return {
    kubeconfig: env.APPSERVING_TEST_KUBECONFIG as string,
    prometheusUrl: env.APPSERVING_TEST_PROMETHEUS as string,
    registryHost: env.APPSERVING_TEST_REGISTRY as string,
    helmBinary: env.APPSERVING_TEST_HELM as string,
    kubectlBinary: env.APPSERVING_TEST_KUBECTL,
  };
}

/**
 * Settings that tie the platform to the local test cluster, and test-sized timings. Keep in sync with
 * services/<name>/src/config.ts (the README's configuration table lists them all).
 */
export function clusterSettings(cluster: TestClusterEnv, baseImages: BaseImages): Record<string, string> {
  return {
    // gateway: the cluster, registered as the default `local` cluster
    APPSERVING_LOCAL_CLUSTER_KUBECONFIG: cluster.kubeconfig,
    APPSERVING_LOCAL_CLUSTER_PROMETHEUS_URL: cluster.prometheusUrl,
    APPSERVING_TOKEN_CACHE_MS: '0',
    // builder: the cluster's registry, plain HTTP, with the seeded base images
    APPSERVING_REGISTRY: cluster.registryHost,
    APPSERVING_REGISTRY_PLAIN_HTTP: 'true',
    APPSERVING_BASE_IMAGE_JAR: baseImages.jar,
    APPSERVING_BASE_IMAGE_WAR: baseImages.war,
    APPSERVING_BASE_IMAGE_PYTHON: baseImages.python,
    APPSERVING_BUILD_POLL_INTERVAL_MS: '500',
    // deployer: the helm built for the cluster
    APPSERVING_HELM_BINARY: cluster.helmBinary,
    APPSERVING_HELM_TIMEOUT_MS: '60000',
    // watcher: failures diagnosed in seconds, not minutes
    APPSERVING_WATCHER_RESYNC_MS: '1000',
    APPSERVING_WATCHER_LEASE_RETRY_MS: '500',
    APPSERVING_WATCHER_CRASH_LOOP_RESTARTS: '2',
    APPSERVING_WATCHER_IMAGE_PULL_GRACE_MS: '2000',
    APPSERVING_WATCHER_UNSCHEDULABLE_GRACE_MS: '5000',
    APPSERVING_WATCHER_READINESS_GRACE_MS: '30000',
    APPSERVING_WATCHER_DEGRADED_GRACE_MS: '5000',
    APPSERVING_WATCHER_PROGRESSING_DEADLINE_MS: '180000',
    // messaging: quick retries, quick shutdown
    APPSERVING_RETRY_BASE_DELAY_MS: '200',
    APPSERVING_RETRY_MAX_DELAY_MS: '5000',
    APPSERVING_SHUTDOWN_GRACE_MS: '5000',
  };
}

/** The local cluster, which must have its real node (a test that needs a real process fails without one). */
function realNodeCluster(): ClusterInfo {
  const info = readClusterInfo();
  if (!info?.realNode) {
    throw new Error('this test needs the local cluster\'s real node, and the running cluster has none (started with APPSERVING_CLUSTER_REAL_NODE=0, or it failed to start: see its logs)');
  }
  return info;
}

export async function startPlatform(options: PlatformOptions = {}): Promise<Platform> {
  const cluster = testClusterFromEnv();
  const baseImages = await seedBaseImages(cluster.registryHost);
  const realNode = options.realNode ? realNodeCluster() : undefined;
  const releaseRealNode = realNode ? await claimRealNode(options.realNodeCpu ?? 1000) : async () => {};
  const nats = await startTestNatsServer().catch(async (error: unknown) => {
    await releaseRealNode();
    throw error;
  });
  const database = await createThrowawayDatabase(options.databaseServer ?? process.env.APPSERVING_TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres').catch(async (error: unknown) => {
    await nats.dispose();
    await releaseRealNode();
    throw error;
  });
  const ports = { gateway: await freePort(), builder: await freePort(), deployer: await freePort(), watcher: await freePort() };
  const adminToken = `aps_${randomBytes(32).toString('base64url')}`;
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? '',
    HOME: process.env.HOME ?? '',
    APPSERVING_NATS_URL: nats.url,
    APPSERVING_DATABASE_URL: database.url,
    APPSERVING_HTTP_HOST: '127.0.0.1',
    APPSERVING_GATEWAY_PORT: String(ports.gateway),
    APPSERVING_BUILDER_PORT: String(ports.builder),
    APPSERVING_DEPLOYER_PORT: String(ports.deployer),
    APPSERVING_WATCHER_PORT: String(ports.watcher),
    APPSERVING_ADMIN_TOKEN: adminToken,
    APPSERVING_LOG_LEVEL: options.logLevel ?? 'info',
    ...clusterSettings(cluster, baseImages),
    ...(realNode ? localPlatformSettings(realNode, { builder: ports.builder }) : {}),
    // On the real node a pod may wait a moment for CPU that pods of a file just finished still hold while they
    // terminate: a real wait, as for an autoscaler, not a failure (the harness's default grace is seconds).
    ...(realNode ? { APPSERVING_WATCHER_UNSCHEDULABLE_GRACE_MS: '120000' } : {}),
    ...options.env,
  };

  const logDir = await mkdtemp(join(tmpdir(), 'appserving-platform-'));
  const logFile = join(logDir, 'platform.log');
  const file: WriteStream = createWriteStream(logFile);
  let output = '';
  const keep = (chunk: Buffer) => {
    file.write(chunk);
    output += chunk.toString('utf8');
    if (output.length > 8_000_000) output = output.slice(-4_000_000);
  };
  const child: ChildProcess = spawn(process.execPath, [platformMain], { cwd: repoRoot, env, stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  const exited = new Promise<number | string>((resolve) => child.once('exit', (code, signal) => resolve(code ?? signal ?? 'unknown')));
  const namespaces: string[] = [];
  const url = `http://127.0.0.1:${ports.gateway}`;

  const cleanup = async () => {
    for (const namespace of namespaces) await deleteNamespace(cluster, namespace);
    await database.drop().catch(() => {});
    await nats.dispose().catch(() => {});
    await new Promise<void>((resolve) => file.end(resolve));
    await releaseRealNode();
  };

  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      const killer = setTimeout(() => child.kill('SIGKILL'), 30_000);
      await exited;
      clearTimeout(killer);
    }
    const code = await exited;
    await cleanup();
    return code;
  };

  try {
    await waitForReady(ports, exited, options.readyTimeoutMs ?? 180_000, () => output);
  } catch (error) {
    await stop();
    throw error;
  }

  const api = async <T>(method: string, path: string, body?: unknown) => {
    const response = await fetch(`${url}${path}`, {
      method,
      headers: { authorization: `Bearer ${adminToken}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const text = await response.text();
    return { status: response.status, body: (text ? JSON.parse(text) : undefined) as T };
  };

  return {
    url,
    adminToken,
    ports,
    databaseUrl: database.url,
    natsUrl: nats.url,
    env,
    baseImages,
    logs: () => output,
    logFile,
    problems: () =>
      output
        .split('\n')
        .filter((line) => /"level":(40|50|60)/.test(line))
        .flatMap((line) => {
          try {
            return [JSON.parse(line) as Record<string, unknown>];
          } catch {
            return [];
          }
        }),
    api,
    async removeApp(appId) {
      const deleted = await api('DELETE', `/apps/${appId}`);
      if (deleted.status !== 202 && deleted.status !== 404) throw new Error(`DELETE /apps/${appId} answered ${deleted.status}: ${JSON.stringify(deleted.body)}`);
      const deadline = Date.now() + 120_000;
      while ((await api('GET', `/apps/${appId}`)).status !== 404) {
        if (Date.now() > deadline) throw new Error(`app ${appId} was not deleted within 120 s`);
        await new Promise((resolve) => setTimeout(resolve, 500));
      }
      // The chart's shutdown delay (5 s) and the process's exit.
      await new Promise((resolve) => setTimeout(resolve, 8_000));
    },
    async createProject(prefix = 'test') {
      const clusters = await api<{ clusters: { id: string; name: string }[] }>('GET', '/clusters');
      const local = clusters.body.clusters.find((c) => c.name === 'local');
      if (!local) throw new Error('the platform has no `local` cluster registered');
      const name = `${prefix}-${randomBytes(4).toString('hex')}`.slice(0, 63);
      const created = await api<{ id: string; name: string; namespace: string }>('POST', '/projects', { name, cluster_id: local.id });
      if (created.status !== 201) throw new Error(`POST /projects answered ${created.status}: ${JSON.stringify(created.body)}`);
      namespaces.push(created.body.namespace);
      return created.body;
    },
    stop,
  };
}

async function waitForReady(ports: Platform['ports'], exited: Promise<number | string>, timeoutMs: number, output: () => string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let gone: number | string | undefined;
  void exited.then((code) => (gone = code));
  const pending = new Set(Object.entries(ports));
  while (pending.size > 0) {
    if (gone !== undefined) throw new Error(`the platform exited (${gone}) before it was ready:\n${output().slice(-6_000)}`);
    if (Date.now() > deadline) throw new Error(`the platform was not ready within ${timeoutMs} ms (${[...pending].map(([name]) => name).join(', ')} not ready):\n${output().slice(-6_000)}`);
    for (const entry of [...pending]) {
      const ready = await fetch(`http://127.0.0.1:${entry[1]}/readyz`, { signal: AbortSignal.timeout(2_000) })
        .then((response) => response.status === 200)
        .catch(() => false);
      if (ready) pending.delete(entry);
    }
    if (pending.size > 0) await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

async function deleteNamespace(cluster: TestClusterEnv, namespace: string): Promise<void> {
  if (!cluster.kubectlBinary) return;
  // A busy API server can refuse a request; a namespace left behind keeps its pods on the shared cluster.
  for (let attempt = 1; attempt <= 3; attempt += 1) {
    const result = await new Promise<{ code: number | null; stderr: string }>((resolve) => {
      let stderr = '';
      const child = spawn(cluster.kubectlBinary as string, ['--kubeconfig', cluster.kubeconfig, 'delete', 'namespace', namespace, '--ignore-not-found', '--wait=false', '--request-timeout=30s'], {
        stdio: ['ignore', 'ignore', 'pipe'],
      });
      child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
      child.once('exit', (code) => resolve({ code, stderr }));
      child.once('error', (error) => resolve({ code: -1, stderr: error.message }));
    });
    if (result.code === 0) return;
    if (attempt === 3) process.stderr.write(`platform harness: could not delete namespace ${namespace}: ${result.stderr.trim()}\n`);
    else await new Promise((resolve) => setTimeout(resolve, 2_000 * attempt));
  }
}
