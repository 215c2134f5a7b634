// Kaniko builds that really execute, on the local cluster's real node: a war (a Jakarta servlet compiled here) built
// on the node's Tomcat image, and a Python WSGI app (a folder with wsgi.py and requirements.txt) built on its Python
// image, whose Dockerfile runs the launcher's `pip install` inside Kaniko. Each then answers HTTP at its URL with
// what only its own running code can say.
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { answerFromEndpoint, helloPythonFolder, helloWar } from '@appserving/test-support/real-apps';
import { startPlatform, type Platform } from '@appserving/test-support/platform';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AppView } from './api/views.ts';
import { runCli, scratch } from './testing/run-cli.ts';

let platform: Platform;
let project: { name: string; namespace: string };
let dir: string;
let configHome: string;
let cleanupScratch: () => Promise<void>;

beforeAll(async () => {
  // A Kaniko pod of 750m, then the app's pod (each test removes its app).
  platform = await startPlatform({ realNode: true, realNodeCpu: 1000, env: { APPSERVING_BUILD_POD_CPU: '750m', APPSERVING_BUILD_POD_MEMORY: '1Gi' } });
  project = await platform.createProject('kaniko');
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

const SMALL = 'cpu=250m,memory=384Mi';
const cli = (args: string[]) => runCli(args, { cwd: dir, configHome, timeoutMs: 540_000 });
const explain = (run: { stdout: string; stderr: string }) => `stdout:\n${run.stdout}\nstderr:\n${run.stderr}\nplatform problems:\n${JSON.stringify(platform.problems().slice(-10), null, 1)}\nplatform log: ${platform.logFile}`;

async function appId(name: string): Promise<string> {
  const { body } = await platform.api<{ items: AppView[] }>('GET', `/apps?name=${name}&project=${project.name}`);
  const id = body.items[0]?.id;
  if (!id) throw new Error(`no app ${name} in project ${project.name}`);
  return id;
}

async function publicUrl(name: string): Promise<string> {
  const { body } = await platform.api<{ items: AppView[] }>('GET', `/apps?name=${name}&project=${project.name}`);
  const url = body.items[0]?.endpoints?.public;
  if (!url) throw new Error(`app ${name} has no public endpoint: ${JSON.stringify(body.items[0])}`);
  return url;
}

describe('Kaniko builds on the real node', () => {
  it('builds a war on Tomcat with Kaniko, and the servlet answers through Tomcat', async () => {
    await writeFile(join(dir, 'target', 'shop.war'), await helloWar('1.0'));
    const run = await cli(['deploy', 'target/shop.war', '--project', project.name, '-r', SMALL, '--build-method', 'kaniko', '--timeout', '8m']);
    expect(run.code, explain(run)).toBe(0);
    // The build ran in a Kaniko Pod, whose progress the CLI followed.
    expect(run.stderr).toMatch(/build Pod|Kaniko/i);
    expect(await answerFromEndpoint(await publicUrl('shop'))).toMatch(/^war 1\.0 on Apache Tomcat\/10\.1\.\d+/);
    await platform.removeApp(await appId('shop'));
  }, 600_000);

  it('builds a Python WSGI app folder with Kaniko (its requirements installed by pip in the build), and it answers under gunicorn', async () => {
    const folder = await helloPythonFolder('1');
    const run = await cli(['deploy', folder, '--name', 'greeter', '--project', project.name, '-r', SMALL, '--timeout', '8m']);
    expect(run.code, explain(run)).toBe(0);
    const answer = { body: await answerFromEndpoint(await publicUrl('greeter')) };
    expect(answer.body).toMatch(/^python 1 [0-9a-f]{8} flask \S+ python 3\.11$/);
    const logs = await cli(['logs', 'greeter']);
    expect(logs.stdout).toContain('appserving: starting -m gunicorn');
    expect(logs.stdout).toContain(`python 1 starting, token ${answer.body.split(' ')[2]}`);
    await platform.removeApp(await appId('greeter'));
  }, 600_000);
});
