// The original demo for real: `appserve deploy hello.jar` on the local cluster's real node. The jar is a small Java
// HTTP server compiled here; every assertion reads something only the running JVM can produce (a token it makes
// up at start, its environment, its files), through the app's URL on 127.0.0.1 (the local traffic gateway) or
// its log. Then the failures a real container gives: a crash at start, a JVM over its memory limit, a health path
// that never answers, an image that does not exist.
import { randomBytes } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { answerFromEndpoint, getFromEndpoint, helloJar } from '@appserving/test-support/real-apps';
import { startPlatform, type Platform } from '@appserving/test-support/platform';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AppView, ReleaseView } from './api/views.ts';
import { runCli, scratch } from './testing/run-cli.ts';

let platform: Platform;
let project: { name: string; namespace: string };
let dir: string;
let configHome: string;
let cleanupScratch: () => Promise<void>;

beforeAll(async () => {
  // Two pods of 250m at once (a rollout), then the four failures (550m); each test removes its apps.
  platform = await startPlatform({ realNode: true, realNodeCpu: 750, env: { APPSERVING_WATCHER_READINESS_GRACE_MS: '20000' } });
  project = await platform.createProject('real');
  const space = await scratch();
  ({ dir, configHome } = space);
  cleanupScratch = () => space.cleanup();
  await mkdir(join(dir, 'target'), { recursive: true });
  await mkdir(configHome, { recursive: true });
  const login = await runCli(['login', platform.url, '--token-stdin'], { cwd: dir, configHome, stdin: platform.adminToken });
  expect(login.code, login.stderr).toBe(0);
}, 300_000);

afterAll(async () => {
  await cleanupScratch?.();
  await platform?.stop();
});

// Small pods: the real node has this machine's two cores, shared by every test running on it.
const SMALL = 'cpu=250m,memory=384Mi';
// The failures need no speed: a tenth of a CPU each (the OOM case keeps a quarter, its JVM must get to allocate).
const TINY = 'cpu=100m,memory=384Mi';
const cli = (args: string[], opts: { stdin?: string; timeoutMs?: number } = {}) => runCli(args, { cwd: dir, configHome, timeoutMs: opts.timeoutMs ?? 240_000, ...(opts.stdin ? { stdin: opts.stdin } : {}) });
const explain = (run: { stdout: string; stderr: string }) => `stdout:\n${run.stdout}\nstderr:\n${run.stderr}\nplatform problems:\n${JSON.stringify(platform.problems().slice(-10), null, 1)}\nplatform log: ${platform.logFile}`;

async function app(name: string): Promise<AppView> {
  const { body } = await platform.api<{ items: AppView[] }>('GET', `/apps?name=${name}&project=${project.name}`);
  const found = body.items[0];
  if (!found) throw new Error(`no app ${name}`);
  return found;
}

/**
 * `hello <version> <token>` from the app's URL, once it answers as `version`; the token is the running JVM's own.
 * The traffic gateway learns a new pod's address a moment after the rollout ends (as any ingress does), so the
 * first requests may still meet the old pod or none.
 */
async function hello(url: string, version: string): Promise<{ version: string; token: string }> {
  const deadline = Date.now() + 15_000;
  for (;;) {
    const { status, body } = await getFromEndpoint(url).catch((error: unknown) => ({ status: 0, body: String(error) }));
    const m = /^hello (\S+) ([0-9a-f]{8})$/.exec(body);
    if (status === 200 && m?.[1] === version) return { version, token: m[2] ?? '' };
    if (Date.now() > deadline) throw new Error(`${url} did not answer as hello ${version}; last answer: ${status} ${body}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

/** A path of the app's URL, once the app answers there with 200 (and, if given, what `accept` expects: see hello()). */
const answer = (url: string, path: string, accept?: (body: string) => boolean) => answerFromEndpoint(url, path, accept);

describe('a jar on the real node', () => {
  it('deploys with appserve: the JVM starts, passes its readiness probe, answers at its URL on 127.0.0.1 with its log its own; v2 rolls out; a rollback answers v1 again', async () => {
    await writeFile(join(dir, 'target', 'hello.jar'), await helloJar('v1'));
    const v1 = await cli(['deploy', 'target/hello.jar', '--project', project.name, '-r', SMALL, '--health-path', '/health', '--timeout', '4m']);
    expect(v1.code, explain(v1)).toBe(0);
    const url = (platform.env.APPSERVING_APP_URL ?? '').replace('{host}', `hello-${project.namespace}.localhost`);
    expect(v1.stdout).toContain(`endpoint: ${url}`);
    const first = await hello(url, 'v1');
    const shown = await app('hello');
    expect(shown.endpoint).toBe(url);
    expect(shown.endpoints).toEqual({ public: url, cluster: `http://hello.${project.namespace}.svc.cluster.local:8080` });

    const open = await cli(['open', 'hello', '--print']);
    expect(open.code, explain(open)).toBe(0);
    expect(open.stdout.trim()).toBe(url);

    // The log is the JVM's stdout, token and all.
    const logs = await cli(['logs', 'hello']);
    expect(logs.code, explain(logs)).toBe(0);
    expect(logs.stdout).toContain(`hello v1 starting, token ${first.token}`);
    expect(logs.stdout).toContain('hello v1 listening on 8080');

    await writeFile(join(dir, 'target', 'hello.jar'), await helloJar('v2'));
    const v2 = await cli(['deploy', 'target/hello.jar', '-r', SMALL, '--health-path', '/health', '--timeout', '4m']);
    expect(v2.code, explain(v2)).toBe(0);
    expect(v2.stdout).toMatch(/✓ hello v2 succeeded in/);
    await hello(url, 'v2');

    const back = await cli(['rollback', 'hello', '--to', '1', '--timeout', '4m']);
    expect(back.code, explain(back)).toBe(0);
    const third = await hello(url, 'v1');
    // A new JVM, not the first one still around.
    expect(third.token).not.toBe(first.token);
    await platform.removeApp((await app('hello')).id);
  }, 600_000);

  it('hands the process its env, config files and secret files, and keeps a volume across a new pod; the secret value is in no answer and no log of the platform', async () => {
    const secret = `s3cret-${randomBytes(12).toString('hex')}`;
    await writeFile(join(dir, 'target', 'files.jar'), await helloJar('files'));
    await writeFile(join(dir, 'application.yml'), 'greeting: from a config file\n');
    await writeFile(join(dir, 'db-password.txt'), secret);
    const args = [
      'deploy', 'target/files.jar', '--name', 'files', '--project', project.name, '-r', SMALL, '--health-path', '/health',
      '-e', 'GREETING=hello from env', '-e', 'HELLO_DATA=/var/data',
      '--config', 'application.yml', '--secret', 'db-password=db-password.txt', '--volume', 'data:/var/data:16Mi', '--timeout', '4m',
    ];
    const first = await cli(args);
    expect(first.code, explain(first)).toBe(0);
    const url = (await app('files')).endpoints?.public ?? '';
    expect(await answer(url, '/env/GREETING')).toBe('hello from env');
    expect(await answer(url, '/file?path=/app/config/application.yml')).toBe('greeting: from a config file\n');
    expect(await answer(url, '/file?path=/app/secrets/db-password')).toBe(secret);
    const visits1 = (await answer(url, '/file?path=/var/data/visits')).trim().split('\n');
    expect(visits1).toHaveLength(1);

    // A second release replaces the pod (an app with a volume is updated with Recreate): the file is still there.
    const again = await cli([...args, '--app-version', 'v2']);
    expect(again.code, explain(again)).toBe(0);
    const visits2 = (await answer(url, '/file?path=/var/data/visits', (body) => body.trim().split('\n').length >= 2)).trim().split('\n');
    expect(visits2).toHaveLength(2);
    expect(visits2[0]).toBe(visits1[0]);

    const appView = await app('files');
    const answers = [
      JSON.stringify(appView),
      JSON.stringify((await platform.api('GET', `/apps/${appView.id}/releases`)).body),
      JSON.stringify((await platform.api('GET', `/apps/${appView.id}/timeline`)).body),
      first.stdout + first.stderr + again.stdout + again.stderr,
    ];
    for (const answer of answers) expect(answer).not.toContain(secret);
    expect(platform.logs()).not.toContain(secret);
    await platform.removeApp(appView.id);
  }, 600_000);
});

describe('failures of real containers, diagnosed', () => {
  it('a jar that exits at start, a JVM over its memory limit, a health path that never answers, an image that does not exist', async () => {
    await writeFile(join(dir, 'target', 'broken.jar'), await helloJar('broken'));
    const deploy = (name: string, extra: string[]) =>
      cli(['deploy', 'target/broken.jar', '--name', name, '--project', project.name, '--timeout', '4m', ...extra], { timeoutMs: 300_000 });
    const [crash, oom, unready, pull] = await Promise.all([
      deploy('crashes', ['-r', TINY, '-e', 'HELLO_MODE=exit']),
      // The JVM is told it may use 1 GiB of heap in a 256 MiB container: the kernel kills it.
      deploy('hoards', ['-r', 'cpu=250m,memory=256Mi', '-e', 'HELLO_MODE=oom', '-e', 'JAVA_TOOL_OPTIONS=-Xmx1g']),
      deploy('unready', ['-r', TINY, '-e', 'HELLO_MODE=unready', '--health-path', '/health']),
      cli(['deploy', '--image', `${platform.env.APPSERVING_REGISTRY}/appserving-test/does-not-exist:v1`, '--name', 'ghost', '--project', project.name, '-r', TINY, '--timeout', '4m'], {
        timeoutMs: 300_000,
      }),
    ]);
    const diagnosis = async (name: string) => {
      const release = (await app(name)).current_release as ReleaseView;
      expect(release.status, `${name}: ${JSON.stringify(release)}`).toBe('failed');
      return release.diagnosis;
    };
    expect(crash.code, explain(crash)).toBe(1);
    const crashed = await diagnosis('crashes');
    expect(crashed?.code).toBe('crash-loop');
    // The last lines the JVM printed before it exited.
    expect(JSON.stringify(crashed?.evidence)).toContain('fatal: HELLO_MODE=exit, giving up before listening');
    expect(crash.stdout + crash.stderr).toContain('fatal: HELLO_MODE=exit');

    expect(oom.code, explain(oom)).toBe(1);
    expect((await diagnosis('hoards'))?.code).toBe('oom-killed');

    expect(unready.code, explain(unready)).toBe(1);
    const notReady = await diagnosis('unready');
    expect(notReady?.code).toBe('readiness-failing');
    expect(notReady?.evidence).toMatchObject({ probe: { path: '/health' }, probe_message: expect.stringMatching(/probe failed: HTTP probe failed with statuscode: 503/) });

    expect(pull.code, explain(pull)).toBe(1);
    const ghost = await diagnosis('ghost');
    expect(ghost?.code).toBe('image-pull');
    expect(JSON.stringify(ghost?.evidence)).toContain('does-not-exist');
  }, 600_000);
});
