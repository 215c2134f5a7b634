import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, matchesGlob, relative } from 'node:path';
import { promisify } from 'node:util';
import { createThrowawayDatabase, freePort, startTestNatsServer, type TestNatsServer } from '@appserving/shared/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseDockerfile, stagesOf } from './dockerfile.ts';
import { clusterHelm } from './support.ts';

/**
 * No container engine runs here, so the images are not built. This test does the next best thing: it makes the
 * build context the way `docker build` would (the committed tree, less what .dockerignore names), runs the build
 * stage's own install and assemble commands (read from each Dockerfile), and starts each service from the
 * assembled tree, as the image's CMD does, against a real NATS and Postgres. A production install that misses a
 * run-time dependency, a source file the assemble step leaves out, or a service that cannot start from /app,
 * fails here. What it cannot show: the base images, the Debian layer, the helm build stage.
 */
const root = join(import.meta.dirname, '..', '..');
const exec = promisify(execFile);
const services = ['gateway', 'builder', 'deployer', 'watcher'] as const;
const work = mkdtempSync(join(tmpdir(), 'appserving-image-'));
const context = join(work, 'context');
let nats: TestNatsServer;
const databases: { drop(): Promise<void> }[] = [];

function dockerignored(path: string, patterns: string[]): boolean {
  return patterns.some((p) => matchesGlob(path, p) || matchesGlob(path, `${p}/**`));
}

function filesUnder(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile() || e.isSymbolicLink())
    .map((e) => relative(dir, join(e.parentPath, e.name)));
}

function buildCommands(service: string, out: string): string[] {
  const build = stagesOf(parseDockerfile(readFileSync(join(root, 'services', service, 'Dockerfile'), 'utf8')))[0];
  const run = build?.instructions.filter((i) => i.keyword === 'RUN').at(-1)?.args ?? '';
  // The commands after the cache mount, with the image's store and output replaced by this machine's.
  const commands = run.replace(/^(--mount=\S+\s+)+/, '').split(/\s*&&\s*/);
  const store = process.env.npm_config_store_dir ?? join(process.env.HOME ?? '/root', '.cache', 'appserving', 'pnpm-store');
  return commands.map((c) => c.replace('--store-dir=/pnpm-store', `--store-dir=${store}`).replace(/ \/out$/, ` ${out}`));
}

beforeAll(async () => {
  // The committed tree, as `git archive` gives it, then .dockerignore applied.
  await exec('sh', ['-c', `git -C "${root}" archive HEAD | tar -x -C "${work}" --one-top-level=context`]);
  const patterns = readFileSync(join(context, '.dockerignore'), 'utf8').split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('#'));
  for (const file of filesUnder(context)) if (dockerignored(file, patterns)) rmSync(join(context, file), { force: true });
  nats = await startTestNatsServer();
}, 120_000);

afterAll(async () => {
  await nats?.dispose();
  for (const database of databases) await database.drop().catch(() => {});
  rmSync(work, { recursive: true, force: true });
});

describe.each(services)('the %s image tree', (service) => {
  const out = join(work, `out-${service}`);
  const serviceContext = join(work, `context-${service}`);

  it('is assembled by the Dockerfile\'s build commands', async () => {
    cpSync(context, serviceContext, { recursive: true });
    for (const command of buildCommands(service, out)) {
      await exec('sh', ['-c', command], { cwd: serviceContext, maxBuffer: 16 * 1024 * 1024 });
    }
    expect(existsSync(join(out, 'services', service, 'src', 'main.ts'))).toBe(true);
    const files = filesUnder(out).filter((f) => !f.split('/').includes('node_modules'));
    expect(files.filter((f) => f.endsWith('.test.ts')), 'no tests in the image').toEqual([]);
    expect(files.filter((f) => f.startsWith('services/') && !f.startsWith(`services/${service}/`)), 'no other service').toEqual([]);
    const { stdout: du } = await exec('du', ['-sm', out]);
    process.stdout.write(`[image-layout] ${service}: ${du.split('\t')[0]} MiB in /app (${files.length} files outside node_modules)\n`);
  }, 180_000);

  it('starts from that tree as the image\'s CMD does, answers /healthz, /readyz and the HEALTHCHECK, and stops on SIGTERM', async () => {
    const database = await createThrowawayDatabase(process.env.APPSERVING_TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres');
    databases.push(database);
    const port = await freePort();
    const portEnv = `APPSERVING_${service.toUpperCase()}_PORT`;
    const env = {
      PATH: process.env.PATH,
      HOME: work,
      NODE_ENV: 'production',
      // The image listens on 0.0.0.0; here everything stays on loopback.
      APPSERVING_HTTP_HOST: '127.0.0.1',
      [portEnv]: String(port),
      APPSERVING_NATS_URL: nats.url,
      APPSERVING_DATABASE_URL: database.url,
      APPSERVING_LOG_LEVEL: 'warn',
      APPSERVING_SHUTDOWN_GRACE_MS: '2000',
      APPSERVING_HELM_BINARY: clusterHelm(),
    };
    const child: ChildProcess = spawn(process.execPath, [`services/${service}/src/main.ts`], { cwd: out, env, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr?.on('data', (chunk: Buffer) => (stderr = (stderr + chunk.toString()).slice(-8000)));
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    try {
      const ready = await poll(`http://127.0.0.1:${port}/readyz`, 90_000, () => child.exitCode !== null);
      expect(ready, `readyz of ${service}; stderr: ${stderr}`).toBe(200);
      expect((await fetch(`http://127.0.0.1:${port}/healthz`)).status).toBe(200);
      expect(await (await fetch(`http://127.0.0.1:${port}/metrics`)).text()).toContain('appserving_messages_published_total');

      const runtime = stagesOf(parseDockerfile(readFileSync(join(root, 'services', service, 'Dockerfile'), 'utf8'))).at(-1);
      const healthcheck = runtime?.instructions.find((i) => i.keyword === 'HEALTHCHECK')?.args ?? '';
      const command = JSON.parse(healthcheck.slice(healthcheck.indexOf('CMD ') + 4)) as string[];
      expect(command[0]).toBe('node');
      const probe = await exec(process.execPath, command.slice(1), { env: { ...env } }).then(() => 0, (error: { code?: number }) => error.code ?? 1);
      expect(probe, 'HEALTHCHECK exit code while the service runs').toBe(0);

      child.kill('SIGTERM');
      expect(await exited, `exit code after SIGTERM; stderr: ${stderr}`).toBe(0);
      const after = await exec(process.execPath, command.slice(1), { env: { ...env } }).then(() => 0, (error: { code?: number }) => error.code ?? 1);
      expect(after, 'HEALTHCHECK exit code once the service is gone').not.toBe(0);
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
    }
  }, 180_000);
});

async function poll(url: string, timeoutMs: number, gaveUp: () => boolean): Promise<number | undefined> {
  const deadline = Date.now() + timeoutMs;
  let status: number | undefined;
  while (Date.now() < deadline && !gaveUp()) {
    status = await fetch(url).then((r) => r.status, () => undefined);
    if (status === 200) return status;
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  return status;
}
