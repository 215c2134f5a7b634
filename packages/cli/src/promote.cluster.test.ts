import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { startPlatform, type Platform } from '@appserving/test-support/platform';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTraffic, type Traffic } from '../../../services/deployer/src/testing/traffic.ts';
import type { ReleaseView } from './api/views.ts';
import { makeJar, runCli, scratch } from './testing/run-cli.ts';

/**
 * Blue/green through the CLI on the whole platform with the real Flagger: the new version is analysed against the
 * real Prometheus (request metrics written into it), `appserve deploy` stops at the promotion gate with how to go
 * on, `appserve promote` follows the release to `succeeded`, and `appserve abort` stops the next one.
 */
let platform: Platform;
let traffic: Traffic | undefined;
let dir: string;
let configHome: string;
let cleanupScratch: () => Promise<void>;

beforeAll(async () => {
  platform = await startPlatform();
  const project = await platform.createProject('cli-bg');
  traffic = startTraffic(platform.env.APPSERVING_LOCAL_CLUSTER_PROMETHEUS_URL as string, { namespace: project.namespace, app: 'shop' }, { successRatio: 1, latencySeconds: 0.02 });
  const space = await scratch();
  ({ dir, configHome } = space);
  cleanupScratch = () => space.cleanup();
  await mkdir(dir, { recursive: true });
  await mkdir(configHome, { recursive: true });
  // Flagger analyses at most every 10 s here: two iterations keep the test short.
  await writeFile(
    join(dir, 'appserve.yaml'),
    `name: shop\nartifact: ./shop.war\nproject: ${project.name}\nstrategy: blue-green\nanalysis:\n  interval_seconds: 10\n  threshold: 2\n  iterations: 2\n  metric_window_seconds: 30\ntimeout: 4m\n`,
  );
}, 300_000);

afterAll(async () => {
  await traffic?.stop();
  await cleanupScratch?.();
  await platform?.stop();
});

const env = () => ({ APPSERVE_SERVER: platform.url, APPSERVE_TOKEN: platform.adminToken });
const cli = (args: string[]) => runCli(args, { cwd: dir, configHome, env: env(), timeoutMs: 300_000 });
const explain = (run: { stdout: string; stderr: string }) => `stdout:\n${run.stdout}\nstderr:\n${run.stderr}\nplatform log: ${platform.logFile}`;

describe('blue/green through the CLI', () => {
  it('the first release becomes the live version', async () => {
    await makeJar(join(dir, 'shop.war'), { extra: { 'WEB-INF/web.xml': '<web-app/>' } });
    const run = await cli(['deploy']);
    expect(run.code, explain(run)).toBe(0);
    expect(run.stdout).toMatch(/✓ shop v1 succeeded in/);
  }, 300_000);

  it('the next one is analysed, then deploy stops at the promotion gate (exit 0) saying how to go on; promote completes it', async () => {
    await makeJar(join(dir, 'shop.war'), { extra: { 'WEB-INF/web.xml': '<web-app/>', 'v2.txt': '2' } });
    const deploy = await cli(['deploy']);
    expect(deploy.code, explain(deploy)).toBe(0);
    expect(deploy.stdout).toMatch(/▲ shop v2 is waiting for promotion/);
    expect(deploy.stdout).toContain('appserve promote shop');
    expect(deploy.stderr).toMatch(/analysis step [0-9]+: /);

    const promote = await cli(['promote', '--json']);
    expect(promote.code, explain(promote)).toBe(0);
    expect(JSON.parse(promote.stdout)).toMatchObject({ outcome: 'succeeded', release: { version: 2, status: 'succeeded' } });
  }, 300_000);

  it('abort stops a release waiting at its gate; the live version stays', async () => {
    await makeJar(join(dir, 'shop.war'), { extra: { 'WEB-INF/web.xml': '<web-app/>', 'v3.txt': '3' } });
    const deploy = await cli(['deploy']);
    expect(deploy.code, explain(deploy)).toBe(0);
    expect(deploy.stdout).toMatch(/shop v3 is waiting for promotion/);
    const abort = await cli(['abort']);
    expect(abort.code, explain(abort)).toBe(0);
    expect(abort.stdout).toMatch(/✓ shop v3 (aborted|failed)/);
    const history = JSON.parse((await cli(['history', '--json'])).stdout) as { items: ReleaseView[] };
    expect(history.items.find((r) => r.version === 2)?.status).toBe('succeeded');
  }, 300_000);
});
