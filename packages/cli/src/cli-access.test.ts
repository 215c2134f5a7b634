import { execFile } from 'node:child_process';
import { copyFile, mkdir, readFile, stat, symlink, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { freePort } from '@appserving/shared/testing';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startTestGateway, type TestGateway } from '../../../services/gateway/src/testing/test-gateway.ts';
import { runCli, scratch } from './testing/run-cli.ts';

/** The real `appserve` binary against a real gateway (real NATS, real Postgres): flags, login, errors, exit codes. */
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

const cli = (args: string[], options: { env?: Record<string, string>; stdin?: string } = {}) => runCli(args, { cwd: dir, configHome, ...options });
const asAdmin = () => ({ APPSERVE_SERVER: gateway.base, APPSERVE_TOKEN: gateway.adminToken });

describe('usage errors exit 2 with a clear message', () => {
  it('--help lists the commands and the exit codes, exit 0', async () => {
    const run = await cli(['--help']);
    expect(run.code).toBe(0);
    for (const word of ['deploy', 'status', 'list', 'history', 'logs', 'events', 'promote', 'abort', 'rollback', 'delete', 'clusters', 'login']) expect(run.stdout).toContain(word);
    expect(run.stdout).toMatch(/Exit codes:[\s\S]*4 +the server could not be reached/);
  });

  it('an unknown flag', async () => {
    const run = await cli(['deploy', 'app.jar', '--replicaz', '3'], { env: asAdmin() });
    expect(run.code).toBe(2);
    expect(run.stderr).toContain("unknown option '--replicaz'");
    expect(run.stderr).toContain('--replicas');
  });

  it('an unknown command', async () => {
    const run = await cli(['deplyo']);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/unknown command 'deplyo'[\s\S]*deploy/);
  });

  it('a bad value names the flag and what it takes, before anything is sent', async () => {
    await writeFile(join(dir, 'app.jar'), 'PK\x03\x04 not really');
    for (const [args, message] of [
      [['--replicas', 'many'], '--replicas must be a whole number from 0 to 100 (got "many")'],
      [['--strategy', 'fast'], "argument 'fast' is invalid. Allowed choices are rolling, canary, blue-green"],
      [['--resources', 'huge'], '--resources must be small, medium, large or cpu=QUANTITY,memory=QUANTITY'],
      [['--env', 'NOEQUALS'], '--env takes KEY=VALUE (got "NOEQUALS")'],
      [['--timeout', 'soon'], '--timeout must be a duration like 90s, 15m or 1h'],
      [['--name', 'Bad_Name'], 'app name "Bad_Name" is not valid'],
    ] as const) {
      const run = await cli(['deploy', 'app.jar', ...args], { env: asAdmin() });
      expect(run.code, args.join(' ')).toBe(2);
      expect(run.stderr).toContain(message);
    }
  });

  it('a missing artifact, and a file that is not a jar', async () => {
    let run = await cli(['deploy', 'target/missing.jar'], { env: asAdmin() });
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('target/missing.jar does not exist');
    await writeFile(join(dir, 'index.jar'), '<html>not a jar</html>');
    run = await cli(['deploy', 'index.jar'], { env: asAdmin() });
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('is not a jar file: it does not start like a zip archive');
  });

  it('a bad project file names the file, the line and the setting', async () => {
    await writeFile(join(dir, 'appserve.yaml'), 'name: orders\nreplica: 3\n');
    const run = await cli(['deploy'], { env: asAdmin() });
    expect(run.code).toBe(2);
    expect(run.stderr).toContain(`${join(dir, 'appserve.yaml')}:2: unknown setting "replica"`);
  });

  it('--json turns a usage error into a JSON document on stdout', async () => {
    const run = await cli(['deploy', 'nothing.jar', '--json'], { env: asAdmin() });
    expect(run.code).toBe(2);
    const body = JSON.parse(run.stdout);
    expect(body).toMatchObject({ exit_code: 2, error: { code: 'artifact_not_found' } });
  });
});

describe('server problems', () => {
  it('an unreachable server: exit 4, the address and the reason', async () => {
    const port = await freePort();
    const started = Date.now();
    const run = await cli(['list'], { env: { APPSERVE_SERVER: `http://127.0.0.1:${port}`, APPSERVE_TOKEN: 'aps_whatever' } });
    expect(run.code).toBe(4);
    expect(run.stderr).toContain(`cannot reach the AppServing server at http://127.0.0.1:${port}: connection refused`);
    expect(run.stderr).toContain('hint:');
    expect(run.stderr).not.toMatch(/\n\s+at /); // no stack trace
    expect(Date.now() - started).toBeLessThan(15_000);
    const json = await cli(['list', '--json'], { env: { APPSERVE_SERVER: `http://127.0.0.1:${port}`, APPSERVE_TOKEN: 'aps_whatever' } });
    expect(json.code).toBe(4);
    expect(JSON.parse(json.stdout)).toMatchObject({ exit_code: 4, error: { code: 'unreachable' } });
  });

  it('not logged in: exit 3 and how to log in', async () => {
    const run = await cli(['list']);
    expect(run.code).toBe(3);
    expect(run.stderr).toContain('not logged in');
    expect(run.stderr).toContain('appserve login');
  });

  it('a refused token: exit 3 with the server\'s explanation', async () => {
    const run = await cli(['status', 'orders'], { env: { APPSERVE_SERVER: gateway.base, APPSERVE_TOKEN: 'aps_thisTokenDoesNotExistAnywhere0000000000000' } });
    expect(run.code).toBe(3);
    expect(run.stderr).toContain('the API token is unknown or revoked');
    expect(run.stderr).not.toContain('aps_thisTokenDoesNotExist');
  });

  it('an app that does not exist: exit 2, the name, and where to look', async () => {
    const run = await cli(['status', 'no-such-app'], { env: asAdmin() });
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('no app no-such-app');
    expect(run.stderr).toContain('appserve list');
  });
});

describe('login', () => {
  const credentials = () => join(configHome, 'appserving', 'credentials.json');

  it('checks the token, saves it readable by the user only, never prints it; later commands use it', async () => {
    const run = await cli(['login', gateway.base, '--token-stdin'], { stdin: `${gateway.adminToken}\n` });
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toContain(`Logged in to ${gateway.base}`);
    expect(run.stdout + run.stderr).not.toContain(gateway.adminToken);
    expect((await stat(credentials())).mode & 0o777).toBe(0o600);
    expect((await stat(join(configHome, 'appserving'))).mode & 0o777).toBe(0o700);
    expect(JSON.parse(await readFile(credentials(), 'utf8'))).toMatchObject({ server: gateway.base, token: gateway.adminToken });

    const list = await cli(['clusters', '--json']);
    expect(list.code, list.stderr).toBe(0);
    expect(JSON.parse(list.stdout).clusters).toEqual([expect.objectContaining({ name: 'local', is_default: true })]);

    // The saved token is for that server only: never sent to another one.
    const other = await cli(['list', '--server', `http://127.0.0.1:${await freePort()}`]);
    expect(other.code).toBe(3);
    expect(other.stderr).toContain('no API token for http://127.0.0.1:');

    const logout = await cli(['logout']);
    expect(logout.code).toBe(0);
    expect((await cli(['list'])).code).toBe(3);
  });

  it('a wrong token is refused and nothing is saved', async () => {
    const run = await cli(['login', gateway.base, '--token-stdin'], { stdin: 'aps_wrongwrongwrongwrongwrongwrongwrongwrongwro' });
    expect(run.code).toBe(3);
    await expect(stat(credentials())).rejects.toThrow(/ENOENT/);
  });

  it('without a terminal it does not wait for a prompt', async () => {
    const run = await cli(['login', gateway.base]);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('--token-stdin');
  });

  it('refuses a credentials file others can read', async () => {
    await cli(['login', gateway.base, '--token-stdin'], { stdin: gateway.adminToken });
    const { chmod } = await import('node:fs/promises');
    await chmod(credentials(), 0o644);
    const run = await cli(['list']);
    expect(run.code).toBe(3);
    expect(run.stderr).toContain('can be read by other users');
  });
});

describe('installable', () => {
  it('the package builds to plain JavaScript that runs without type stripping (what `pnpm pack` ships)', async () => {
    const packageDir = fileURLToPath(new URL('..', import.meta.url));
    const out = join(dir, 'package');
    await mkdir(out, { recursive: true });
    const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
    await promisify(execFile)(process.execPath, [tsc, '-p', join(packageDir, 'tsconfig.build.json'), '--outDir', join(out, 'dist')], { cwd: packageDir });
    await copyFile(join(packageDir, 'package.json'), join(out, 'package.json'));
    await symlink(join(packageDir, 'node_modules'), join(out, 'node_modules'));
    const run = await promisify(execFile)(process.execPath, ['--no-experimental-strip-types', join(out, 'dist', 'main.js'), '--version']);
    expect(run.stdout.trim()).toBe(JSON.parse(await readFile(join(packageDir, 'package.json'), 'utf8')).version);
  }, 120_000);
});
