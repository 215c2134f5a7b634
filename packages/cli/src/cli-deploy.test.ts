import { spawn } from 'node:child_process';
import { createServer, request as httpRequest } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createHash, randomUUID } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { BuildStartedV1, createPublisher, createSecretBox, DEV_SECRET_KEY, ReleaseStatusChangedV1, type ReleaseStatus } from '@appserving/shared';
import { createArtifactStore } from '@appserving/shared/artifacts';
import { jetstream } from '@nats-io/jetstream';
import yauzl from 'yauzl';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startTestGateway, type TestGateway } from '../../../services/gateway/src/testing/test-gateway.ts';
import type { AppView, ReleaseView } from './api/views.ts';
import { CLI_MAIN, makeJar, runCli, scratch, startCli, type RunningCli } from './testing/run-cli.ts';

/**
 * `appserve deploy` and the commands around it, run as the real binary against a real gateway (real NATS and
 * Postgres). No builder, deployer or watcher runs here, so where a release must move on, the test does what the
 * watcher does: it writes the release's status to Postgres and publishes the status event on NATS.
 * (The whole platform on the local cluster: deploy.cluster.test.ts.)
 */
let gateway: TestGateway;
let dir: string;
let configHome: string;

beforeAll(async () => {
  gateway = await startTestGateway();
});
afterAll(async () => {
  await gateway?.close();
});
beforeEach(async () => {
  const space = await scratch();
  ({ dir, configHome } = space);
  await mkdir(dir, { recursive: true });
  await mkdir(configHome, { recursive: true });
  return () => space.cleanup();
});

const env = () => ({ APPSERVE_SERVER: gateway.base, APPSERVE_TOKEN: gateway.adminToken });
const cli = (args: string[], options: { stdin?: string } = {}) => runCli(args, { cwd: dir, configHome, env: env(), ...options });
const json = <T = Record<string, any>>(text: string): T => JSON.parse(text) as T;

async function api<T>(path: string): Promise<T> {
  const response = await fetch(`${gateway.base}${path}`, { headers: { authorization: `Bearer ${gateway.adminToken}` } });
  expect(response.status, path).toBe(200);
  return (await response.json()) as T;
}

async function waitFor<T>(probe: () => Promise<T> | T, what: string, timeoutMs = 15_000): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function appNamed(name: string): Promise<AppView | undefined> {
  return (await api<{ items: AppView[] }>('/apps')).items.find((a) => a.name === name);
}

/** What the watcher does when a release changes status: Postgres first, then the event. */
async function settle(app: AppView, release: ReleaseView, status: ReleaseStatus, extra: { diagnosis?: Record<string, unknown>; reason?: string; image?: string } = {}) {
  const terminal = status !== 'progressing';
  const { db } = gateway.database;
  await db
    .updateTable('releases')
    .set({
      status,
      status_reason: extra.reason ?? null,
      diagnosis: extra.diagnosis ? (JSON.stringify(extra.diagnosis) as never) : null,
      ...(terminal ? { finished_at: new Date() } : {}),
      ...(extra.image ? { image_ref: extra.image.split('@')[0], image_digest: extra.image.split('@')[1] ?? null } : {}),
    })
    .where('id', '=', release.id)
    .execute();
  if (terminal) {
    await db.updateTable('operations').set({ status: status === 'succeeded' ? 'succeeded' : 'failed', finished_at: new Date() }).where('release_id', '=', release.id).execute();
    await db.updateTable('apps').set({ status: status === 'succeeded' ? 'running' : 'failed', ...(status === 'succeeded' ? { current_release_id: release.id } : {}) }).where('id', '=', app.id).execute();
  }
  await createPublisher({ js: jetstream(gateway.nc), source: '/appserving/watcher' }).publish(ReleaseStatusChangedV1, {
    id: `${release.id}.status.${status}`,
    appId: app.id,
    data: {
      release: refOf(app, release),
      status,
      ...(extra.reason ? { reason: extra.reason } : {}),
      ...(extra.diagnosis ? { diagnosis: extra.diagnosis as never } : {}),
    },
  });
}

function refOf(app: AppView, release: ReleaseView) {
  return { app_id: app.id, app_name: app.name, release_id: release.id, version: release.version, cluster_id: app.cluster.id };
}

/** Publishes build.started until the running CLI shows it (its event stream may still be connecting). */
async function showBuildStarted(running: RunningCli, app: AppView, release: ReleaseView) {
  const publisher = createPublisher({ js: jetstream(gateway.nc), source: '/appserving/builder' });
  await waitFor(async () => {
    await publisher.publish(BuildStartedV1, { id: randomUUID(), appId: app.id, data: { release: refOf(app, release), method: 'direct' } });
    await new Promise((r) => setTimeout(r, 300));
    return running.stderr().includes('building the image (direct layer push)');
  }, 'the CLI to show build.started');
}

describe('deploy a local jar', () => {
  it('uploads it, creates the app (v1), saves appserve.yaml; the next `appserve deploy` is version 2', async () => {
    await mkdir(join(dir, 'target'));
    await makeJar(join(dir, 'target', 'orders-service-1.4.2-SNAPSHOT.jar'));
    const bytes = await readFile(join(dir, 'target', 'orders-service-1.4.2-SNAPSHOT.jar'));
    const first = await cli(['deploy', 'target/orders-service-1.4.2-SNAPSHOT.jar', '--no-wait', '--json', '-r', 'medium', '--port', '8081']);
    expect(first.code, first.stderr).toBe(0);
    const result = json(first.stdout);
    expect(result).toMatchObject({ outcome: 'accepted', exit_code: 0, app: { name: 'orders-service' }, release: { version: 1, version_label: 'v1', task_type: 'all' } });
    const sha256 = createHash('sha256').update(bytes).digest('hex');
    expect(result.artifact).toMatchObject({ sha256, size: bytes.length, artifact_url: `appserving-artifact://sha256/${sha256}` });
    // Progress went to stderr as JSON lines, each of which parses.
    const progress = first.stderr.trim().split('\n').map((line) => json(line));
    expect(progress.map((p) => p.message)).toEqual(expect.arrayContaining([expect.stringMatching(/^uploaded orders-service-1.4.2-SNAPSHOT.jar/), 'new app: orders-service v1 on cluster local (rolling)']));

    const app = await api<AppView>(`/apps/${result.app.id}`);
    expect(app.current_release?.spec).toMatchObject({ app_type: 'jar', artifact_url: `appserving-artifact://sha256/${sha256}`, artifact_sha256: sha256, resource_spec: 'medium', port: 8081 });
    const saved = await readFile(join(dir, 'appserve.yaml'), 'utf8');
    expect(saved).toContain('name: orders-service');
    expect(saved).toContain('artifact: ./target/orders-service-1.4.2-SNAPSHOT.jar');

    // One operation per app: while v1 runs, another deploy is a conflict (exit 6) that says what is in flight.
    const busy = await cli(['deploy', '--no-wait']);
    expect(busy.code).toBe(6);
    expect(busy.stderr).toContain('operation in flight');

    await settle(app, app.current_release!, 'succeeded', { image: `127.0.0.1:5000/default/orders-service:v1@sha256:${'a'.repeat(64)}` });
    await makeJar(join(dir, 'target', 'orders-service-1.4.2-SNAPSHOT.jar'), { extra: { 'new.txt': 'v2' } });
    const second = await cli(['deploy', '--no-wait', '--json']);
    expect(second.code, second.stderr).toBe(0);
    const next = json(second.stdout);
    expect(next).toMatchObject({ app: { id: app.id }, release: { version: 2, version_label: 'v2' } });
    expect(next.artifact.sha256).not.toBe(sha256);
    // Fields this deploy left out keep their values.
    expect(next.release.spec).toMatchObject({ resource_spec: 'medium', port: 8081 });
    expect((await api<{ items: ReleaseView[] }>(`/apps/${app.id}/releases`)).items.map((r) => r.version)).toEqual([2, 1]);
  });

  it('follows the rollout with timestamped progress lines and prints the endpoint (exit 0)', async () => {
    await makeJar(join(dir, 'billing.jar'));
    const running = startCli(['deploy', 'billing.jar', '--timeout', '60s'], { cwd: dir, configHome, env: env() });
    const app = await waitFor(() => appNamed('billing'), 'the app');
    await showBuildStarted(running, app, app.current_release!);
    await settle(app, app.current_release!, 'succeeded', { image: `127.0.0.1:5000/default/billing:v1@sha256:${'b'.repeat(64)}` });
    const run = await running.done;
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toMatch(/✓ billing v1 succeeded in [0-9]+s/);
    expect(run.stdout).toContain('endpoint: http://billing.default.svc.cluster.local:8080');
    // Not a terminal: plain lines, each with a timestamp.
    for (const line of run.stderr.trim().split('\n')) expect(line).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ /);
    expect(run.stderr).toMatch(/uploading billing.jar 100%/);
  });

  it('a failed rollout exits 1 and prints the diagnosis as the server explains it', async () => {
    await makeJar(join(dir, 'crashy.jar'));
    const running = startCli(['deploy', 'crashy.jar'], { cwd: dir, configHome, env: env() });
    const app = await waitFor(() => appNamed('crashy'), 'the app');
    await showBuildStarted(running, app, app.current_release!);
    await settle(app, app.current_release!, 'failed', {
      reason: 'crash-loop',
      diagnosis: {
        code: 'crash-loop',
        summary: 'The container keeps crashing (exit code 1, 3 restarts)',
        hint: 'Read the log tail below; run the jar locally with the same env to reproduce',
        evidence: { pod: 'crashy-5d9c-abcde', log_tail: ['Exception in thread "main" java.lang.IllegalStateException: no DB_URL', '\tat com.example.App.main(App.java:12)'] },
      },
    });
    const run = await running.done;
    expect(run.code).toBe(1);
    expect(run.stdout).toContain('✗ crashy v1 failed after');
    expect(run.stdout).toContain('The container keeps crashing (exit code 1, 3 restarts) [crash-loop]');
    expect(run.stdout).toContain('hint: Read the log tail below');
    expect(run.stdout).toContain('pod: crashy-5d9c-abcde');
    expect(run.stdout).toContain('java.lang.IllegalStateException: no DB_URL');
    expect(run.stderr).toContain('failed: The container keeps crashing');
    expect(run.stdout + run.stderr).not.toMatch(/\n\s+at .*\.ts:/); // no stack trace of the CLI

    const status = await cli(['status', 'crashy']);
    expect(status.code).toBe(0);
    expect(status.stdout).toMatch(/why:[\s\S]*The container keeps crashing/);
    const history = await cli(['history', 'crashy', '--json']);
    expect(json(history.stdout).items).toEqual([expect.objectContaining({ version: 1, status: 'failed' })]);
  });

  it('--json follows to a JSON result; --timeout ends the wait with exit 5 and the release goes on', async () => {
    await makeJar(join(dir, 'slow.jar'));
    const run = await cli(['deploy', 'slow.jar', '--json', '--timeout', '3s']);
    expect(run.code).toBe(5);
    const result = json(run.stdout);
    expect(result).toMatchObject({ outcome: 'timeout', exit_code: 5, error: { code: 'timeout' }, release: { status: 'pending' } });
    expect((await appNamed('slow'))?.current_release?.status).toBe('pending');
  });

  it('rollback --to 1 redeploys v1\'s image as a new release', async () => {
    await makeJar(join(dir, 'cart.jar'));
    expect((await cli(['deploy', 'cart.jar', '--no-wait'])).code).toBe(0);
    const app = (await appNamed('cart'))!;
    const v1Image = `127.0.0.1:5000/default/cart:v1@sha256:${'c'.repeat(64)}`;
    await settle(app, app.current_release!, 'succeeded', { image: v1Image });
    expect((await cli(['deploy', '--no-wait'])).code).toBe(0);
    const v2 = (await appNamed('cart'))!.current_release!;
    await settle(app, v2, 'succeeded', { image: `127.0.0.1:5000/default/cart:v2@sha256:${'d'.repeat(64)}` });
    const run = await cli(['rollback', 'cart', '--to', '1', '--no-wait', '--json']);
    expect(run.code, run.stderr).toBe(0);
    expect(json(run.stdout)).toMatchObject({ outcome: 'accepted', release: { version: 3, task_type: 'deploy', image: v1Image } });
    const missing = await cli(['rollback', 'cart', '--to', '9', '--no-wait']);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('no release 9 of this app');
  });
});

describe('following', () => {
  it('on a terminal: finished steps with ✓ and one live line redrawn in place, no timestamps', async () => {
    await makeJar(join(dir, 'tty.jar'));
    // util-linux `script` gives the CLI a real pseudo-terminal (sized: a terminal of no size gets plain lines).
    const child = spawn('script', ['-qefc', `stty rows 30 cols 120; exec ${process.execPath} ${CLI_MAIN} deploy tty.jar --timeout 60s`, '/dev/null'], {
      cwd: dir,
      env: { PATH: process.env.PATH ?? '', HOME: configHome, XDG_CONFIG_HOME: configHome, TERM: 'xterm-256color', COLUMNS: '120', ...env() },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let screen = '';
    child.stdout.on('data', (chunk: Buffer) => (screen += chunk.toString()));
    const closed = new Promise<number | null>((resolve) => child.once('close', resolve));
    const app = await waitFor(() => appNamed('tty'), 'the app');
    await waitFor(() => /[⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏] .*waiting for a builder or deployer/.test(plain(screen)), 'the live line');
    await settle(app, app.current_release!, 'succeeded', { image: `127.0.0.1:5000/default/tty:v1@sha256:${'e'.repeat(64)}` });
    expect(await closed).toBe(0);
    const text = plain(screen);
    expect(text).toMatch(/✓ uploaded tty\.jar \(/);
    expect(text).toContain('✓ new app: tty v1 on cluster local (rolling)');
    expect(text).toMatch(/✓ tty v1 succeeded in [0-9]+s/);
    expect(screen).toContain(`${ESC}[2K`); // the live line is erased and redrawn in place
    expect(text).not.toMatch(/\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ /);
  });

  it('Ctrl-C stops following (exit 130) and says the release goes on', async () => {
    await makeJar(join(dir, 'patient.jar'));
    const running = startCli(['deploy', 'patient.jar'], { cwd: dir, configHome, env: env() });
    // The follower's first line is printed once Ctrl-C is taken over.
    await waitFor(() => running.stderr().includes('waiting for a builder or deployer'), 'the wait to begin');
    running.child.kill('SIGINT');
    const run = await running.done;
    expect(run.code).toBe(130);
    expect(run.stderr).toContain('interrupted: stopped following patient v1');
    expect(run.stderr).toContain('it goes on without the CLI');
    expect((await appNamed('patient'))?.current_release?.status).toBe('pending');
  });

  it('an app deleted while its release runs ends the wait with exit 1 and says so', async () => {
    await makeJar(join(dir, 'doomed.jar'));
    const running = startCli(['deploy', 'doomed.jar', '--no-save'], { cwd: dir, configHome, env: env() });
    await waitFor(() => running.stderr().includes('new app: doomed v1'), 'the release to be accepted');
    const app = (await appNamed('doomed'))!;
    // What the deployer and watcher do once the app is uninstalled.
    await gateway.database.db.updateTable('apps').set({ status: 'deleted', deleted_at: new Date() }).where('id', '=', app.id).execute();
    const run = await running.done;
    expect(run.code).toBe(1);
    expect(run.stderr).toContain('the app was deleted while release v1 was running');
  });

  it('events --follow prints the record, then new events as they happen, until Ctrl-C', async () => {
    await makeJar(join(dir, 'watched.jar'));
    expect((await cli(['deploy', 'watched.jar', '--no-wait'])).code).toBe(0);
    const app = (await appNamed('watched'))!;
    const running = startCli(['events', 'watched', '--follow'], { cwd: dir, configHome, env: env() });
    await waitFor(() => running.stderr().includes('following new events'), 'the live part');
    await waitFor(async () => {
      await settle(app, app.current_release!, 'progressing');
      await new Promise((r) => setTimeout(r, 300));
      return running.stdout().includes('rolling out');
    }, 'the live event');
    running.child.kill('SIGINT');
    const run = await running.done;
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/v1 +rolling out/);
  });
});

describe('retries', () => {
  it('a create whose answer is lost is retried with the same Idempotency-Key: one app, one release', async () => {
    // A proxy that passes everything to the gateway but drops the connection instead of answering the first
    // POST /apps, after the gateway has done it: the CLI cannot know whether the create happened.
    const upstream = new URL(gateway.base);
    let dropped = 0;
    const keys: string[] = [];
    const proxy = createServer((req, res) => {
      const forward = httpRequest({ host: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers: req.headers }, (answer) => {
        if (req.method === 'POST' && req.url === '/apps') {
          keys.push(String(req.headers['idempotency-key']));
          if (dropped === 0) {
            dropped += 1;
            answer.resume();
            answer.once('end', () => res.socket?.destroy());
            return;
          }
        }
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      });
      req.pipe(forward);
    });
    await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
    try {
      await makeJar(join(dir, 'once.jar'));
      const run = await runCli(['deploy', 'once.jar', '--no-wait', '--no-save', '--json'], {
        cwd: dir,
        configHome,
        env: { APPSERVE_SERVER: `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`, APPSERVE_TOKEN: gateway.adminToken },
      });
      expect(run.code, run.stderr).toBe(0);
      expect(run.stderr).toContain('retrying');
      expect(keys).toHaveLength(2);
      expect(keys[1]).toBe(keys[0]);
      const apps = (await api<{ items: AppView[] }>('/apps')).items.filter((a) => a.name === 'once');
      expect(apps).toHaveLength(1);
      expect((await api<{ items: ReleaseView[] }>(`/apps/${apps[0]!.id}/releases`)).items).toHaveLength(1);
      expect(json(run.stdout)).toMatchObject({ app: { id: apps[0]!.id }, release: { version: 1 } });
    } finally {
      proxy.closeAllConnections();
      await new Promise((resolve) => proxy.close(resolve));
    }
  });
});

describe('other kinds of deploy', () => {
  it('--image deploys an existing image (task deploy, nothing uploaded)', async () => {
    const image = 'registry.example/scanned/payments:1.2.3@sha256:' + 'f'.repeat(64);
    const run = await cli(['deploy', '--image', image, '--no-wait', '--json', '--no-save']);
    expect(run.code, run.stderr).toBe(0);
    expect(json(run.stdout)).toMatchObject({ app: { name: 'payments' }, release: { task_type: 'deploy', spec: { image_url: image } }, artifact: null });
  });

  it('--build-only ends at `built` with exit 0', async () => {
    await makeJar(join(dir, 'lib.jar'));
    const running = startCli(['deploy', 'lib.jar', '--build-only', '--no-save', '--json'], { cwd: dir, configHome, env: env() });
    const app = await waitFor(() => appNamed('lib'), 'the app');
    expect(app.current_release?.task_type).toBe('build');
    await settle(app, app.current_release!, 'built', { image: `127.0.0.1:5000/default/lib:v1@sha256:${'1'.repeat(64)}` });
    const run = await running.done;
    expect(run.code, run.stderr).toBe(0);
    expect(json(run.stdout)).toMatchObject({ outcome: 'built', release: { status: 'built', task_type: 'build' } });
  });
});

describe('what a deploy mounts', () => {
  it('secrets from a file and from stdin are sent, stored encrypted, and never shown or saved', async () => {
    await makeJar(join(dir, 'vault.jar'));
    await writeFile(join(dir, 'api-key.txt'), 'key-from-a-file-123');
    await writeFile(join(dir, 'application.yaml'), 'server:\n  port: 8080\n');
    await writeFile(join(dir, '.env'), 'B=2\n# comment\nC="three"\n');
    const run = await cli(
      ['deploy', 'vault.jar', '--secret', 'db-password=-', '--secret', 'api-key=api-key.txt', '--config', 'application.yaml', '-e', 'A=1', '--env-file', '.env', '--no-wait', '--json'],
      { stdin: 'typed-into-stdin-456\n' },
    );
    expect(run.code, run.stderr).toBe(0);
    for (const secret of ['key-from-a-file-123', 'typed-into-stdin-456']) expect(run.stdout + run.stderr).not.toContain(secret);
    const release = json(run.stdout).release as ReleaseView;
    expect(release.spec).toMatchObject({ secret_names: ['api-key', 'db-password'], config: { 'application.yaml': 'server:\n  port: 8080\n' }, env: { A: '1', B: '2', C: 'three' } });
    const row = await gateway.database.db.selectFrom('releases').select(['secrets_encrypted']).where('id', '=', release.id).executeTakeFirstOrThrow();
    const opened = createSecretBox([DEV_SECRET_KEY]).decrypt(row.secrets_encrypted!, `release-secrets:${release.id}`);
    expect(JSON.parse(opened.toString('utf8'))).toEqual({ 'api-key': 'key-from-a-file-123', 'db-password': 'typed-into-stdin-456' });
    const saved = await readFile(join(dir, 'appserve.yaml'), 'utf8');
    expect(saved).toContain('api-key: ./api-key.txt');
    expect(saved).not.toContain('db-password');
    expect(saved).not.toContain('key-from-a-file-123');
  });

  it('an artifact over the server\'s size limit is refused with the server\'s reason (exit 2), not retried', async () => {
    const big = Buffer.alloc(3 * 1024 * 1024, 1);
    big.set([0x50, 0x4b, 0x03, 0x04], 0);
    await writeFile(join(dir, 'huge.jar'), big);
    const run = await cli(['deploy', 'huge.jar', '--no-wait', '--no-save']);
    expect(run.code, run.stderr).toBe(2);
    expect(run.stderr).toMatch(/error: .*(too large|larger|limit)/i);
    expect(run.stderr).not.toContain('retrying');
    expect(await appNamed('huge')).toBeUndefined();
  });

  it('--dry-run shows the request without secret values and sends nothing', async () => {
    await makeJar(join(dir, 'preview.jar'));
    await writeFile(join(dir, 'token.txt'), 'very-secret-token-789');
    const run = await cli(['deploy', 'preview.jar', '--secret', 'api-token=token.txt', '-e', 'MODE=preview', '--dry-run', '--json']);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout + run.stderr).not.toContain('very-secret-token-789');
    expect(json(run.stdout)).toMatchObject({ dry_run: true, request: 'POST /apps', body: { name: 'preview', app_type: 'jar', env: { MODE: 'preview' }, secrets: { 'api-token': '(secret value, not shown)' } } });
    expect(await appNamed('preview')).toBeUndefined();
    await expect(readFile(join(dir, 'appserve.yaml'))).rejects.toThrow(/ENOENT/);
  });

  it('a Python project folder is zipped on the fly without VCS data, caches or ignored files', async () => {
    const project = join(dir, 'hello-py');
    await mkdir(join(project, '__pycache__'), { recursive: true });
    await mkdir(join(project, '.git'), { recursive: true });
    await writeFile(join(project, 'main.py'), 'print("hello")\n');
    await writeFile(join(project, 'requirements.txt'), 'flask==3.0.0\n');
    await writeFile(join(project, '.gitignore'), '*.env\n');
    await writeFile(join(project, 'local.env'), 'PASSWORD=x\n');
    await writeFile(join(project, '__pycache__', 'main.cpython-312.pyc'), 'x');
    await writeFile(join(project, '.git', 'HEAD'), 'ref: refs/heads/main\n');
    const run = await cli(['deploy', 'hello-py', '--no-wait', '--json']);
    expect(run.code, run.stderr).toBe(0);
    const result = json(run.stdout);
    expect(result).toMatchObject({ app: { name: 'hello-py', app_type: 'python' }, release: { spec: { app_type: 'python' } } });
    const store = await createArtifactStore({ connection: gateway.nc });
    const chunks: Buffer[] = [];
    for await (const chunk of await store.get(result.artifact.sha256)) chunks.push(chunk as Buffer);
    expect(await zipEntries(Buffer.concat(chunks))).toEqual(['.gitignore', 'main.py', 'requirements.txt']);
  });
});

describe('the other commands', () => {
  it('list, status and history: human tables and --json documents', async () => {
    await makeJar(join(dir, 'inventory.jar'));
    expect((await cli(['deploy', 'inventory.jar', '--no-wait'])).code).toBe(0);
    const list = await cli(['list']);
    expect(list.stdout).toMatch(/^NAME +STATUS +RELEASE +RELEASE STATUS +STRATEGY +CLUSTER +CREATED/);
    expect(list.stdout).toMatch(/\ninventory +pending +v1 +pending +rolling +local /);
    const listed = json<{ items: AppView[] }>((await cli(['list', '--json'])).stdout);
    expect(listed.items.map((a) => a.name)).toContain('inventory');
    const status = json<AppView>((await cli(['status', 'inventory', '--json'])).stdout);
    expect(status).toMatchObject({ name: 'inventory', current_release: { version: 1, status: 'pending' } });
    const byId = await cli(['status', status.id]);
    expect(byId.stdout).toMatch(/app +inventory/);
    const events = await cli(['events', 'inventory', '--json']);
    expect(events.code).toBe(0);
  });

  it('delete asks for --yes without a terminal, then deletes', async () => {
    await makeJar(join(dir, 'temp.jar'));
    expect((await cli(['deploy', 'temp.jar', '--no-wait'])).code).toBe(0);
    const refused = await cli(['delete', 'temp']);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain('needs --yes');
    const run = await cli(['delete', 'temp', '--yes', '--no-wait', '--json']);
    expect(run.code, run.stderr).toBe(0);
    expect(json(run.stdout)).toMatchObject({ outcome: 'accepted', operation: { kind: 'delete' } });
    expect((await appNamed('temp'))?.status).toBe('deleting');
  });

  it('promote of a rolling release is refused with the server\'s reason (exit 6)', async () => {
    await makeJar(join(dir, 'plain.jar'));
    expect((await cli(['deploy', 'plain.jar', '--no-wait'])).code).toBe(0);
    const run = await cli(['promote', 'plain']);
    expect(run.code).toBe(6);
    expect(run.stderr).toContain('promote applies to a canary or blue-green release');
  });
});

const ESC = String.fromCharCode(27);
/** Terminal output without its escape sequences (colours, cursor moves). */
function plain(screen: string): string {
  return screen.replace(new RegExp(`${ESC}\\[[0-9;?]*[A-Za-z]`, 'g'), '');
}

function zipEntries(bytes: Buffer): Promise<string[]> {
  return new Promise((resolve, reject) => {
    yauzl.fromBuffer(bytes, { lazyEntries: true }, (error, zip) => {
      if (error || !zip) return reject(error ?? new Error('no zip'));
      const names: string[] = [];
      zip.on('entry', (entry: yauzl.Entry) => {
        names.push(entry.fileName);
        zip.readEntry();
      });
      zip.on('end', () => resolve(names.sort()));
      zip.on('error', reject);
      zip.readEntry();
    });
  });
}
