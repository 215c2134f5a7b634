// The web console in real Chromium (Debian's), against the whole platform on the local cluster: a person
// signs in, deploys a jar from the browser and watches it succeed, sees why a release failed, rolls back from
// the history, promotes a canary waiting at its gate, and an admin makes a project and a scoped token that
// sees only that project's apps. Then every page is walked in Korean: no untranslated string, no serious or
// critical axe-core violation, and the token is nowhere a page script can read.
import { ensureGatewayApiCrds } from '@appserving/test-cluster';
import type {} from '@appserving/test-cluster/global-setup';
import { startPlatform, type Platform } from '@appserving/test-support/platform';
import type { BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { startTraffic, type Traffic } from '../../../../services/deployer/src/testing/traffic.ts';
import { makeJar } from '../../../../test/e2e/e2e-support.ts';
import { helloJar } from '@appserving/test-support/real-apps';
import { launchChromium, seriousAxeViolations, signIn, whereScriptsSee, type ConsoleBrowser } from './browser.ts';
import { ensureConsoleBuilt } from './build.ts';
import { untranslatedStrings } from './untranslated.ts';

const cluster = inject('appservingCluster');
let platform: Platform;
let browser: ConsoleBrowser;
let admin: BrowserContext;
let page: Page;
let project: { id: string; name: string; namespace: string };
const traffic: Traffic[] = [];
const namespacesToRemove: string[] = [];
const visited = new Map<string, string>(); // page name → console path, walked again in Korean at the end
let helloId: string;
let canaryId: string;
const explain = () => `platform log: ${platform.logFile}; last problems: ${JSON.stringify(platform.problems().slice(-5))}`;
const STATUS_TIMEOUT = 120_000;

beforeAll(async () => {
  await ensureConsoleBuilt();
  ensureGatewayApiCrds(cluster);
  platform = await startPlatform({ env: { APPSERVING_APP_GATEWAY: 'gateway-system/public', APPSERVING_APP_DOMAIN: 'apps.test' } });
  project = await platform.createProject('web');
  browser = await launchChromium();
  admin = await browser.newContext();
  page = await admin.newPage();
}, 300_000);

afterAll(async () => {
  for (const t of traffic) await t.stop();
  await browser?.close();
  await platform?.stop();
  const { execFileSync } = await import('node:child_process');
  for (const namespace of namespacesToRemove) {
    try {
      execFileSync(cluster.kubectlBinary, [`--kubeconfig=${cluster.kubeconfigPath}`, 'delete', 'namespace', namespace, '--ignore-not-found', '--wait=false'], { stdio: 'ignore' });
    } catch {
      // best effort: the namespace holds nothing once its app is deleted
    }
  }
}, 120_000);

/** Waits until the app page shows the current release in `status` (the badge updates from the SSE stream). */
async function waitForReleaseStatus(p: Page, status: string, version?: string, timeout = STATUS_TIMEOUT) {
  if (version) await p.getByTestId('current-version').filter({ hasText: new RegExp(`^${version}$`) }).waitFor({ timeout });
  await p.locator(`[data-status="${status}"]`).first().waitFor({ timeout });
}

async function openTab(p: Page, name: RegExp) {
  await p.getByRole('tab', { name }).click();
}

async function choose(p: Page, label: string, option: string) {
  await p.getByRole('combobox', { name: label, exact: true }).click();
  await p.getByRole('option', { name: option, exact: true }).click();
}

describe.sequential('the web console', () => {
  it('signs in with a token that no page script can read afterwards', async () => {
    await signIn(page, platform.url, platform.adminToken);
    visited.set('apps', '/');
    const cookies = await admin.cookies();
    const session = cookies.find((c) => c.name === 'appserving_session');
    expect(session).toMatchObject({ httpOnly: true, sameSite: 'Strict' });
    expect(session?.value).not.toContain(platform.adminToken.slice(4));
    expect(await whereScriptsSee(page, platform.adminToken)).toEqual([]);
  }, 60_000);

  it('deploys a jar uploaded from the browser and shows its rollout step by step until it succeeded', async () => {
    await page.getByRole('link', { name: 'Deploy', exact: true }).click();
    // Pages load lazily and the old one stays until the new one is ready: wait for the new one.
    await page.getByRole('heading', { name: 'Deploy an app' }).waitFor();
    visited.set('deploy', '/deploy');
    await page.getByRole('textbox', { name: 'Name', exact: true }).fill('hello');
    await choose(page, 'Project', project.name);
    await page.locator('input[type="file"]').setInputFiles({ name: 'hello-1.0.jar', mimeType: 'application/java-archive', buffer: await makeJar('hello v1') });
    await page.getByRole('textbox', { name: 'Spring profile', exact: true }).fill('default');
    await page.getByRole('button', { name: 'Deploy', exact: true }).click();
    await page.waitForURL(/\/console\/apps\/[0-9a-f-]{36}$/, { timeout: 60_000 });
    helloId = page.url().split('/').at(-1) as string;
    visited.set('app', `/apps/${helloId}`);
    await waitForReleaseStatus(page, 'succeeded', 'v1').catch((error: unknown) => {
      throw new Error(`${String(error)}\n${explain()}`);
    });
    // The stream showed the build and the helm step as they happened.
    const steps = page.getByTestId('rollout-steps');
    await expect.poll(async () => steps.locator('[data-kind]').evaluateAll((items) => items.map((i) => i.getAttribute('data-kind')))).toEqual(
      expect.arrayContaining(['build.started', 'build.succeeded', 'deploy.step', 'release.status']),
    );
    expect(await whereScriptsSee(page, platform.adminToken)).toEqual([]);
  }, 180_000);

  it('a release that fails shows its diagnosis and hint', async () => {
    await openTab(page, /^Edit$/);
    await page.getByLabel(/^Environment variables/).fill('SIM_BEHAVIOUR=crashloop');
    await page.getByRole('button', { name: 'Release with these settings' }).click();
    await waitForReleaseStatus(page, 'failed', 'v2');
    const diagnosis = page.getByTestId('diagnosis');
    await diagnosis.waitFor();
    await expect.poll(() => page.getByTestId('diagnosis-summary').innerText()).toMatch(/\S/);
    expect(await page.getByTestId('diagnosis-hint').innerText()).toMatch(/\S/);
    expect(await diagnosis.innerText()).toMatch(/crash/i);
  }, 180_000);

  it('rolls back to an earlier release from the history', async () => {
    await openTab(page, /^History$/);
    await page.getByRole('button', { name: 'Roll back to this release: v1' }).click();
    await openTab(page, /^Rollout$/);
    await waitForReleaseStatus(page, 'succeeded', 'v3');
    const releases = await platform.api<{ items: { version: number; status: string; spec: { env?: Record<string, string> } }[] }>('GET', `/apps/${helloId}/releases`);
    expect(releases.body.items.map((r) => [r.version, r.status])).toEqual([
      [3, 'succeeded'],
      [2, 'failed'],
      // Replaced by a rollback to itself: the status machine's name for that.
      [1, 'rolled-back'],
    ]);
    expect(releases.body.items[0]?.spec.env ?? {}).not.toHaveProperty('SIM_BEHAVIOUR');
  }, 180_000);

  it('a canary waiting at its gate is promoted from the console; its analysis is charted', async () => {
    const analysis = { interval_seconds: 10, threshold: 2, step_weight: 25, max_weight: 50, metric_window_seconds: 30, manual_promotion: true };
    const image = (tag: string) => `${cluster.registryHost}/web-${project.namespace}/shop:${tag}`;
    const created = await platform.api<{ app: { id: string } }>('POST', '/apps', { name: 'shop', project: project.name, task_type: 'deploy', image_url: image('v1'), strategy: 'canary', analysis, resource_spec: 'small' });
    expect(created.status, JSON.stringify(created.body)).toBe(202);
    canaryId = created.body.app.id;
    traffic.push(startTraffic(cluster.prometheusUrl, { namespace: project.namespace, app: 'shop' }, { successRatio: 1, latencySeconds: 0.03 }));
    await page.goto(`${platform.url}/console/apps/${canaryId}`);
    await waitForReleaseStatus(page, 'succeeded', 'v1', 240_000);
    expect((await platform.api('PATCH', `/apps/${canaryId}`, { task_type: 'deploy', image_url: image('v2') })).status).toBe(202);
    await page.getByTestId('gate-waiting').waitFor({ timeout: 300_000 });
    visited.set('canary app', `/apps/${canaryId}`);
    await page.getByTestId('analysis-table').waitFor();
    await page.getByTestId('canary-chart').locator('canvas').first().waitFor();
    await page.getByRole('button', { name: 'Promote', exact: true }).click();
    await waitForReleaseStatus(page, 'succeeded', 'v2', 240_000).catch((error: unknown) => {
      throw new Error(`${String(error)}\n${explain()}`);
    });
  }, 600_000);

  it('an admin makes a project and a scoped token; that token\'s console shows only its project\'s apps', async () => {
    const name = `team-${Date.now().toString(36)}`;
    await page.getByRole('link', { name: 'Projects', exact: true }).click();
    await page.getByRole('heading', { name: 'Create a project' }).waitFor();
    visited.set('projects', '/admin/projects');
    await page.getByRole('textbox', { name: 'Name', exact: true }).fill(name);
    await choose(page, 'Cluster', 'local');
    await page.getByRole('button', { name: 'Create', exact: true }).click();
    await page.getByTestId('projects').getByRole('cell', { name, exact: true }).first().waitFor();
    namespacesToRemove.push(name);

    await page.getByRole('link', { name: 'Tokens', exact: true }).click();
    await page.getByRole('heading', { name: 'Create a token' }).waitFor();
    visited.set('tokens', '/admin/tokens');
    await page.getByRole('textbox', { name: 'Name', exact: true }).fill(`${name} deployer`);
    await page.getByRole('combobox', { name: 'Projects', exact: true }).click();
    await page.getByRole('option', { name, exact: true }).click();
    await page.keyboard.press('Escape');
    await page.getByRole('button', { name: 'Create', exact: true }).click();
    await page
      .getByTestId('new-token')
      .waitFor({ timeout: 30_000 })
      .catch(async (error: unknown) => {
        throw new Error(`${String(error)}\nthe page said: ${await page.locator('main').innerText()}`);
      });
    const scopedToken = (await page.getByTestId('new-token').innerText()).trim();
    expect(scopedToken).toMatch(/^aps_[A-Za-z0-9_-]{43}$/);
    await page.getByRole('button', { name: 'Close', exact: true }).click();
    await expect.poll(() => page.getByTestId('new-token').count()).toBe(0);
    // Shown once: nothing of it stays in the admin's page.
    expect(await whereScriptsSee(page, scopedToken)).toEqual([]);

    const own = await platform.api<{ app: { id: string } }>('POST', '/apps', { name: 'billing', project: name, task_type: 'deploy', image_url: `${cluster.registryHost}/web/billing:v1`, resource_spec: 'small' });
    expect(own.status, JSON.stringify(own.body)).toBe(202);

    const scoped = await browser.newContext();
    const scopedPage = await scoped.newPage();
    await signIn(scopedPage, platform.url, scopedToken);
    await scopedPage.locator('[data-app="billing"]').waitFor({ timeout: 30_000 });
    expect(await scopedPage.locator('[data-app]').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-app')))).toEqual(['billing']);
    // No admin pages for a scoped token.
    expect(await scopedPage.getByRole('link', { name: 'Tokens' }).count()).toBe(0);
    expect(await whereScriptsSee(scopedPage, scopedToken)).toEqual([]);

    // Delete, with confirmation, from the scoped console.
    await scopedPage.getByRole('link', { name: 'billing' }).click();
    await scopedPage.getByRole('button', { name: 'Delete', exact: true }).click();
    await scopedPage.getByRole('button', { name: 'Delete the app' }).click();
    await scopedPage.waitForURL(/\/console\/?$/);
    await expect.poll(async () => (await platform.api<{ status: string }>('GET', `/apps/${own.body.app.id}`)).body.status, { timeout: 60_000 }).toMatch(/deleting|deleted/);
    await scoped.close();
  }, 180_000);

  it('in Korean every page is translated, and axe-core finds no serious or critical violation', async () => {
    visited.set('clusters', '/admin/clusters');
    const korean = await browser.newContext({ locale: 'ko-KR' });
    const p = await korean.newPage();
    await p.goto(`${platform.url}/console/`);
    await p.locator('input[name="token"]').waitFor();
    const report: Record<string, unknown> = {};
    const check = async (name: string) => {
      await p.waitForLoadState('networkidle').catch(() => undefined);
      const untranslated = await untranslatedStrings(p);
      const violations = await seriousAxeViolations(p);
      if (untranslated.length > 0 || violations.length > 0) report[name] = { untranslated, violations };
    };
    await check('sign-in');
    await signIn(p, platform.url, platform.adminToken);
    for (const [name, path] of visited) {
      await p.goto(`${platform.url}/console${path}`);
      await p.locator('main h2').first().waitFor();
      await check(name);
      if (path.startsWith('/apps/')) {
        for (const tab of ['메트릭', '타임라인', '로그', '이력', '수정']) {
          await p.getByRole('tab', { name: tab }).click();
          await p.waitForTimeout(tab === '메트릭' ? 3_000 : 500);
          await check(`${name}: ${tab}`);
        }
      }
    }
    expect(report).toEqual({});
    expect(await whereScriptsSee(p, platform.adminToken)).toEqual([]);
    await korean.close();
  }, 240_000);
});

// On the local cluster's real node (kubelet + containerd), when the running cluster has one: a jar that really
// runs, deployed from the browser, answering at the endpoint the console links to. The simulated node above runs
// nothing, so no app there answers.
describe.runIf(Boolean((cluster as { realNode?: unknown }).realNode))('the web console on the real node', () => {
  let real: Platform;
  let realProject: { name: string };
  beforeAll(async () => {
    real = await startPlatform({ realNode: true, realNodeCpu: 500, env: { APPSERVING_WATCHER_READINESS_GRACE_MS: '20000' } });
    realProject = await real.createProject('webreal');
  }, 300_000);
  afterAll(async () => real?.stop(), 120_000);

  it('deploys a jar from the browser, watches it to succeeded, opens its endpoint and sees the app\'s answer', async () => {
    const context = await browser.newContext();
    const p = await context.newPage();
    await signIn(p, real.url, real.adminToken);
    await p.goto(`${real.url}/console/deploy`);
    await p.getByRole('heading', { name: 'Deploy an app' }).waitFor();
    await p.getByRole('textbox', { name: 'Name', exact: true }).fill('hello');
    await choose(p, 'Project', realProject.name);
    await p.locator('input[type="file"]').setInputFiles({ name: 'hello-1.0.jar', mimeType: 'application/java-archive', buffer: await helloJar('v1') });
    await p.getByRole('button', { name: 'Deploy', exact: true }).click();
    await p.waitForURL(/\/console\/apps\/[0-9a-f-]{36}$/, { timeout: 60_000 });
    await waitForReleaseStatus(p, 'succeeded', 'v1', 300_000).catch((error: unknown) => {
      throw new Error(`${String(error)}\nplatform log: ${real.logFile}; last problems: ${JSON.stringify(real.problems().slice(-5))}`);
    });
    const link = p.getByTestId('endpoint');
    await link.waitFor({ timeout: 60_000 });
    // The traffic gateway learns a new pod's address a moment after the rollout ends: ask until the app answers.
    let answer = '';
    for (const deadline = Date.now() + 30_000; Date.now() < deadline && !/^hello v1 [0-9a-f]{8}$/.test(answer); ) {
      const [tab] = await Promise.all([context.waitForEvent('page'), link.click()]);
      await tab.waitForLoadState().catch(() => undefined);
      answer = (await tab.locator('body').innerText().catch(() => '')).trim();
      await tab.close();
      if (!/^hello v1 /.test(answer)) await p.waitForTimeout(1_000);
    }
    expect(answer).toMatch(/^hello v1 [0-9a-f]{8}$/);
    await context.close();
  }, 480_000);
});
