import { execFile } from 'node:child_process';
import { mkdir, readFile } from 'node:fs/promises';
import { promisify } from 'node:util';
import { join } from 'node:path';
import { setNamespaceLogs } from '@appserving/test-cluster';
import type {} from '@appserving/test-cluster/global-setup';
import { startPlatform, type Platform } from '@appserving/test-support/platform';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { AppView, ReleaseView } from './api/views.ts';
import { makeJar, runCli, scratch } from './testing/run-cli.ts';

/**
 * The real `appserve` against the real platform (gateway, builder, deployer, watcher in one process) on the local
 * Kubernetes cluster: a local jar deployed end to end, a second deploy as version 2, a rollback, and a rollout
 * that fails with its diagnosis (pods asking for more CPU than any node has: the real scheduler leaves them
 * unschedulable, on any version of the simulated node).
 */
let platform: Platform;
let project: { name: string; namespace: string };
let dir: string;
let configHome: string;
let cleanupScratch: () => Promise<void>;
let logsObject: string | undefined;

beforeAll(async () => {
  platform = await startPlatform();
  project = await platform.createProject('cli');
  const space = await scratch();
  ({ dir, configHome } = space);
  cleanupScratch = () => space.cleanup();
  await mkdir(join(dir, 'target'), { recursive: true });
  await mkdir(configHome, { recursive: true });
  const login = await runCli(['login', platform.url, '--token-stdin'], { cwd: dir, configHome, stdin: platform.adminToken });
  expect(login.code, login.stderr).toBe(0);
}, 300_000);

afterAll(async () => {
  // The logs served for the project's namespace (a cluster-wide kwok object).
  if (logsObject) {
    const cluster = inject('appservingCluster');
    await promisify(execFile)(cluster.kubectlBinary, ['--kubeconfig', cluster.kubeconfigPath, 'delete', 'clusterlogs', logsObject, '--ignore-not-found']).catch(() => {});
  }
  await cleanupScratch?.();
  await platform?.stop();
});

const cli = (args: string[], timeoutMs = 240_000) => runCli(args, { cwd: dir, configHome, timeoutMs });
const explain = (run: { stdout: string; stderr: string }) => `stdout:\n${run.stdout}\nstderr:\n${run.stderr}\nplatform problems:\n${JSON.stringify(platform.problems().slice(-10), null, 1)}\nplatform log: ${platform.logFile}`;
const DEPLOY_TEST_MS = 300_000;

describe('appserve on the whole platform', () => {
  it('deploys a local jar end to end and prints the endpoint', async () => {
    await makeJar(join(dir, 'target', 'hello-1.0.0.jar'));
    const run = await cli(['deploy', 'target/hello-1.0.0.jar', '--project', project.name, '--timeout', '3m']);
    expect(run.code, explain(run)).toBe(0);
    expect(run.stdout).toMatch(/✓ hello v1 succeeded in/);
    expect(run.stdout).toContain(`endpoint: http://hello.${project.namespace}.svc.cluster.local:8080`);
    // The steps a person follows, in order.
    const steps = ['uploaded hello-1.0.0.jar', 'new app: hello v1', 'image built', 'applied to the cluster', 'succeeded'];
    const positions = steps.map((step) => run.stderr.indexOf(step));
    expect(positions.every((p) => p >= 0), explain(run)).toBe(true);
    expect([...positions].sort((a, b) => a - b)).toEqual(positions);
    expect(await readFile(join(dir, 'appserve.yaml'), 'utf8')).toContain('name: hello');
  }, DEPLOY_TEST_MS);

  it('a second `appserve deploy` creates version 2; --json output parses', async () => {
    await makeJar(join(dir, 'target', 'hello-1.0.0.jar'), { extra: { 'CHANGELOG.txt': 'v2' } });
    const run = await cli(['deploy', '--json', '--timeout', '3m']);
    expect(run.code, explain(run)).toBe(0);
    const result = JSON.parse(run.stdout) as { outcome: string; release: ReleaseView; app: AppView };
    expect(result).toMatchObject({ outcome: 'succeeded', release: { version: 2, status: 'succeeded' }, app: { name: 'hello', status: 'running' } });
    for (const line of run.stderr.trim().split('\n')) expect(() => JSON.parse(line)).not.toThrow();
    const history = JSON.parse((await cli(['history', '--json'])).stdout) as { items: ReleaseView[] };
    expect(history.items.map((r) => [r.version, r.status])).toEqual([
      [2, 'succeeded'],
      [1, 'superseded'],
    ]);
  }, DEPLOY_TEST_MS);

  it('rolls back to version 1: a new release with v1\'s image', async () => {
    const history = JSON.parse((await cli(['history', '--json'])).stdout) as { items: ReleaseView[] };
    const v1 = history.items.find((r) => r.version === 1);
    const run = await cli(['rollback', '--to', '1', '--json', '--timeout', '3m']);
    expect(run.code, explain(run)).toBe(0);
    const result = JSON.parse(run.stdout) as { release: ReleaseView };
    expect(result.release).toMatchObject({ version: 3, status: 'succeeded', task_type: 'deploy', image: v1?.image });
  }, DEPLOY_TEST_MS);

  it('events prints the record of the rollouts; --json lines parse', async () => {
    const run = await cli(['events', 'hello']);
    expect(run.code, explain(run)).toBe(0);
    for (const step of ['build requested by gateway', 'image built', 'applied to the cluster (helm revision 1)', 'succeeded', 'superseded by a newer release', 'deploy requested by gateway']) expect(run.stdout).toContain(step);
    const json = await cli(['events', 'hello', '--json']);
    const entries = json.stdout.trim().split('\n').map((line) => JSON.parse(line) as { type: string; release_id: string });
    expect(entries.map((e) => e.type)).toEqual(expect.arrayContaining(['dev.appserving.build.succeeded.v1', 'dev.appserving.deploy.step.v1', 'dev.appserving.release.status.v1']));
  });

  it('logs prints the last lines of the app\'s pods (read from the cluster by the watcher)', async () => {
    // The simulated node serves these lines as the log of every pod of the project's namespace.
    const lines = Array.from({ length: 8 }, (_, i) => `2026-12-02 10:00:0${i} INFO  hello - request ${i} served`);
    logsObject = `cli-${project.namespace}`;
    await setNamespaceLogs(inject('appservingCluster'), { name: logsObject, namespaces: [project.namespace], lines });
    const run = await cli(['logs', 'hello', '--tail', '3']);
    expect(run.code, explain(run)).toBe(0);
    expect(run.stdout.trim().split('\n')).toEqual(lines.slice(-3));
    const json = await cli(['logs', 'hello', '--tail', '2', '--json']);
    expect(json.stdout.trim().split('\n').map((line) => (JSON.parse(line) as { line: string }).line)).toEqual(lines.slice(-2));
  });

  it('bad flags and an unreachable server: clear messages, exit 2 and 4', async () => {
    const bad = await cli(['deploy', 'target/hello-1.0.0.jar', '--replicas', 'many']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--replicas must be a whole number from 0 to 100 (got "many")');
    const port = (await import('@appserving/shared/testing')).freePort;
    const gone = await runCli(['status', 'hello'], { cwd: dir, configHome, env: { APPSERVE_SERVER: `http://127.0.0.1:${await port()}`, APPSERVE_TOKEN: platform.adminToken } });
    expect(gone.code).toBe(4);
    expect(gone.stderr).toMatch(/cannot reach the AppServing server at http:\/\/127\.0\.0\.1:[0-9]+: connection refused/);
  });

  it('a rollout that fails exits 1 and prints the diagnosis and its hint (unschedulable pods)', async () => {
    await makeJar(join(dir, 'target', 'broken.jar'));
    const run = await cli(['deploy', 'target/broken.jar', '--name', 'broken', '--project', project.name, '--resources', 'cpu=500,memory=1Gi', '--timeout', '3m']);
    expect(run.code, explain(run)).toBe(1);
    expect(run.stdout).toMatch(/✗ broken v1 failed after/);
    const app = JSON.parse((await cli(['status', 'broken', '--json'])).stdout) as AppView;
    const diagnosis = app.current_release?.diagnosis;
    expect(diagnosis, explain(run)).toBeTruthy();
    expect(run.stdout).toContain(`${diagnosis?.summary} [${diagnosis?.code}]`);
    expect(run.stdout).toContain(`hint: ${diagnosis?.hint}`);
    expect(run.stdout + run.stderr).not.toMatch(/\n\s+at .*\.ts:[0-9]+/);
  }, DEPLOY_TEST_MS);
});
