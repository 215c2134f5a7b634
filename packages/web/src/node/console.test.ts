// The web console in Debian's Chromium over the gateway alone, with data written into its database: the apps
// list with 2,000 apps (virtualized, so the page holds a few dozen rows whatever the count), and the app page of
// a canary waiting at its gate and of a failed release, where platform text (a diagnosis carrying markup) is
// shown as text. No cluster: the cluster test (console.cluster.test.ts) drives the real flows.
import { mkdir } from 'node:fs/promises';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium, seriousAxeViolations, signIn, type ConsoleBrowser } from './browser.ts';
import { ensureConsoleBuilt } from './build.ts';
import { startFakeWatcher } from './fake-watcher.ts';
import { startConsoleGateway, type ConsoleGateway } from './gateway.ts';
import { seedApps, seedCluster, seedFailed, seedShowcase } from './seed.ts';
import { untranslatedStrings } from './untranslated.ts';

const APPS = 2_000;
/** Set to a folder to keep a screenshot of each page (docs/web.md's come from here). */
const screenshots = process.env.APPSERVING_WEB_SCREENSHOTS;
let gateway: ConsoleGateway;
let browser: ConsoleBrowser;
let page: Page;
let canaryId: string;
let failedId: string;
let watcher: Awaited<ReturnType<typeof startFakeWatcher>>;

beforeAll(async () => {
  await ensureConsoleBuilt();
  gateway = await startConsoleGateway();
  const { clusterId, projects } = await seedCluster(gateway.db);
  await seedApps(gateway.db, clusterId, projects, APPS);
  canaryId = await seedShowcase(gateway.db, clusterId, projects[0]?.id as string);
  failedId = await seedFailed(gateway.db, clusterId, projects[1]?.id as string);
  const versions = await gateway.db.query<{ id: string; version_label: string }>('select id, version_label from releases where app_id = $1', [canaryId]);
  const release = (label: string) => versions.rows.find((r) => r.version_label === label)?.id as string;
  watcher = await startFakeWatcher(gateway.natsUrl, { canaryId, releases: { v1: release('v1'), v3: release('v3') } });
  if (screenshots) await mkdir(screenshots, { recursive: true });
  browser = await launchChromium();
  page = await (await browser.newContext()).newPage();
  await signIn(page, gateway.url, gateway.adminToken);
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await watcher?.stop();
  await gateway?.stop();
});

/** Picks an option of a select by its label. */
async function choose(label: string, option: string) {
  await page.getByRole('combobox', { name: label, exact: true }).click();
  await page.getByRole('option', { name: option, exact: true }).click();
}

async function shoot(name: string, fullPage = false) {
  if (screenshots) await page.screenshot({ path: `${screenshots}/${name}.png`, fullPage });
}

describe('the console over the gateway alone', () => {
  it(`lists ${APPS} apps smoothly: a few dozen rows in the page, scrolling and filtering stay quick`, async () => {
    const total = APPS + 2;
    await page.getByText(`${total} of ${total} apps`).waitFor({ timeout: 30_000 });
    const rowsInPage = () => page.locator('[data-app]').count();
    expect(await rowsInPage()).toBeLessThan(60);
    await shoot('apps');

    // Scroll the whole list in steps, a frame each, and time the frames.
    const frames = await page.getByTestId('apps-scroller').evaluate(async (scroller: { scrollTop: number; scrollHeight: number; clientHeight: number }) => {
      const gaps: number[] = [];
      let last = performance.now();
      while (scroller.scrollTop + scroller.clientHeight < scroller.scrollHeight - 1) {
        scroller.scrollTop += 2_000;
        await new Promise((resolve) => requestAnimationFrame(resolve));
        const now = performance.now();
        gaps.push(now - last);
        last = now;
      }
      gaps.sort((a, b) => a - b);
      return { count: gaps.length, p50: gaps[Math.floor(gaps.length / 2)] ?? 0, p95: gaps[Math.floor(gaps.length * 0.95)] ?? 0 };
    });
    process.stderr.write(`apps list: ${frames.count} scroll frames, p50 ${frames.p50.toFixed(1)} ms, p95 ${frames.p95.toFixed(1)} ms\n`);
    await page.locator('[data-app="svc-2000"]').waitFor();
    expect(await rowsInPage()).toBeLessThan(60);
    // Generous (CI runs other test files beside this one on two cores): the structural guarantee is the row
    // count above; a list that rendered every row would take seconds per frame here.
    expect(frames.p95).toBeLessThan(1_000);

    const started = Date.now();
    await page.getByLabel('Search').fill('svc-1234');
    await page.getByText(`1 of ${total} app`, { exact: true }).waitFor();
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(await page.locator('[data-app]').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-app')))).toEqual(['svc-1234']);
    await page.getByLabel('Search').fill('');
  }, 120_000);

  it('shows a canary waiting at its gate: promote and abort, the analysis as a chart and a table, the steps', async () => {
    await page.goto(`${gateway.url}/console/apps/${canaryId}`);
    await page.getByTestId('gate-waiting').waitFor();
    expect(await page.getByRole('button', { name: 'Promote', exact: true }).isEnabled()).toBe(true);
    expect(await page.getByRole('button', { name: 'Abort', exact: true }).isEnabled()).toBe(true);
    await page.getByTestId('canary-chart').locator('canvas').first().waitFor();
    expect(await page.getByTestId('analysis-table').locator('tbody tr').count()).toBe(2);
    await shoot('app-canary');
    await page.getByRole('tab', { name: 'History' }).click();
    await page.getByRole('button', { name: 'Roll back to this release: v1' }).waitFor();
    await shoot('app-history');
    await page.getByRole('tab', { name: 'Timeline' }).click();
    await page.getByTestId('timeline').locator('tbody tr').nth(9).waitFor();
    await shoot('app-timeline');
    await page.getByRole('tab', { name: 'Edit' }).click();
    await page.getByLabel(/^Environment variables/).waitFor();
    expect(await page.getByText('Secrets set: db-password (values are never shown).').count()).toBe(1);
    await shoot('app-edit');
    expect(await seriousAxeViolations(page)).toEqual([]);
  }, 60_000);

  it('shows a failed release\'s diagnosis and hint, platform text as text', async () => {
    await page.goto(`${gateway.url}/console/apps/${failedId}`);
    await page.getByTestId('diagnosis-hint').waitFor();
    expect(await page.getByTestId('diagnosis-summary').innerText()).toContain('CrashLoopBackOff');
    await shoot('app-failed');
    // The canary app's evidence carries markup: it is shown, never run or parsed.
    await page.goto(`${gateway.url}/console/apps/${canaryId}`);
    await page.getByRole('tab', { name: 'History' }).click();
    expect(await page.locator('script:not([src])').count()).toBe(0);
    expect(await seriousAxeViolations(page)).toEqual([]);
  }, 60_000);

  it('shows an app\'s metrics: a line per track named with its release, markers, the canary against the primary, what is not measured; the range picker asks again', async () => {
    await page.goto(`${gateway.url}/console/apps/${canaryId}`);
    await page.getByRole('tab', { name: 'Metrics' }).click();
    const requests = page.locator('[data-chart="requests"]');
    await requests.locator('canvas').first().waitFor();
    const drawn = async (chart: string) => JSON.parse((await page.locator(`[data-chart="${chart}"][data-lines]`).getAttribute('data-lines')) ?? '[]') as { label: string; points: number }[];
    // 1h at 30 s: 121 points for the primary, 51 for the canary's 25 minutes.
    expect(await drawn('requests')).toEqual([
      { label: 'primary · v1', points: 121 },
      { label: 'canary · v3', points: 51 },
    ]);
    expect((await drawn('latency')).map((l) => l.label)).toEqual(['p50 · primary · v1', 'p50 · canary · v3', 'p95 · primary · v1', 'p95 · canary · v3', 'p99 · primary · v1', 'p99 · canary · v3']);
    expect((await drawn('memory')).map((l) => l.label)).toEqual(['primary · v1', 'canary · v3', 'Memory limit · primary · v1', 'Memory limit · canary · v3']);
    expect(await page.locator('[data-chart="jvmHeap"] canvas').count()).toBeGreaterThan(0);
    // No kube-state-metrics: no chart of restarts and ready pods, and why.
    expect(await page.locator('[data-chart="pods"]').count()).toBe(0);
    expect(await page.getByTestId('metrics-missing').innerText()).toContain('Ready pods: no kube-state-metrics series');
    expect(JSON.parse((await requests.getAttribute('data-markers')) ?? '[]')).toEqual(['v1 deployed']);
    expect(await requests.locator('.metric-marker').first().innerText()).toBe('v1 deployed');
    const compare = page.getByTestId('metrics-compare');
    expect(await compare.getAttribute('data-mode')).toBe('canary');
    const ratio = compare.locator('[data-figure="error_ratio"]');
    expect(Number(await ratio.getAttribute('data-before'))).toBeCloseTo(0.25, 1);
    expect(Number(await ratio.getAttribute('data-after'))).toBe(0);
    await shoot('app-metrics', true);
    expect(await seriousAxeViolations(page)).toEqual([]);

    const asked = watcher.asked.length;
    const sixHours = page.waitForRequest((r) => r.url().endsWith(`/apps/${canaryId}/metrics?range=6h&step=3m`));
    await page.getByTestId('metrics-range').getByText('6 hours').click();
    await sixHours;
    await page.locator('[data-testid="metrics"][data-loaded-range="6h"]').waitFor();
    expect(watcher.asked.at(-1)?.step_seconds).toBe(180);
    expect(watcher.asked.length).toBeGreaterThan(asked);
    expect((await drawn('requests'))[0]).toEqual({ label: 'primary · v1', points: 121 });
  }, 60_000);

  it('the metrics are read again every 15 s while the tab is visible, not while it is hidden', async () => {
    await page.goto(`${gateway.url}/console/apps/${canaryId}`);
    await page.getByRole('tab', { name: 'Metrics' }).click();
    await page.locator('[data-testid="metrics"][data-loaded-range="1h"]').waitFor();
    const asked = () => watcher.asked.filter((a) => a.app_id === canaryId).length;
    const first = asked();
    await expect.poll(asked, { timeout: 20_000, interval: 500 }).toBe(first + 1);
    // The browser tab hidden (as when another tab is in front): no request for longer than the interval.
    const setVisibility = (state: 'hidden' | 'visible') =>
      page.evaluate((value) => {
        Object.defineProperty(document, 'visibilityState', { value, configurable: true });
        document.dispatchEvent(new Event('visibilitychange', { bubbles: true }));
      }, state);
    await setVisibility('hidden');
    const hidden = asked();
    await page.waitForTimeout(17_000);
    expect(asked()).toBe(hidden);
    // Shown again: read at once, then every 15 s again.
    await setVisibility('visible');
    await expect.poll(asked, { timeout: 5_000 }).toBeGreaterThan(hidden);
  }, 90_000);

  it('a cluster without Prometheus: the metrics tab says what is missing, with no charts', async () => {
    await page.goto(`${gateway.url}/console/apps/${failedId}`);
    await page.getByRole('tab', { name: 'Metrics' }).click();
    const alert = page.getByTestId('metrics-unavailable');
    await alert.waitFor();
    expect(await alert.getAttribute('data-missing')).toBe('prometheus_url');
    expect(await alert.innerText()).toContain('Cluster local has no Prometheus registered');
    expect(await page.getByTestId('metric-chart').count()).toBe(0);
    await shoot('app-metrics-unavailable');
    expect(await seriousAxeViolations(page)).toEqual([]);
  }, 60_000);

  it('the live log view: lines with pod and release, pod and dropped notices, pause counts what arrives, filter, download of what is shown', async () => {
    // The stream as GET /apps/{id}/logs?follow=true sends it (the route is served by the browser here: no watcher
    // runs); the cluster test (monitoring.cluster.test.ts) follows a real app's pods.
    const sse = (events: [string, unknown][]) => `: keepalive\n\n${events.map(([event, data]) => `event: ${event}\ndata: ${JSON.stringify(data)}\n\n`).join('')}`;
    const at = (s: number) => new Date(Date.UTC(2026, 11, 5, 7, 0, s)).toISOString();
    const line = (pod: string, version: string, s: number, text: string) => ['line', { pod, container: 'app', release_id: null, release_version: version, ts: at(s), line: text }] as [string, unknown];
    let second: () => void = () => undefined;
    const secondMayGo = new Promise<void>((resolve) => (second = resolve));
    const asked: string[] = [];
    await page.route(`**/apps/${failedId}/logs?follow=true*`, async (route) => {
      asked.push(new URL(route.request().url()).search);
      if (asked.length === 1) {
        await route.fulfill({
          status: 200,
          contentType: 'text/event-stream',
          body: sse([
            ['pod', { pod: 'inventory-6b7c9-aaaaa', release_id: null, release_version: 'v1', state: 'added' }],
            line('inventory-6b7c9-aaaaa', 'v1', 1, 'Starting Inventory on port 8080'),
            line('inventory-6b7c9-aaaaa', 'v1', 2, 'GET /items 200 12ms'),
            ['pod', { pod: 'inventory-7d8e1-bbbbb', release_id: null, release_version: 'v2', state: 'added' }],
            line('inventory-7d8e1-bbbbb', 'v2', 3, 'Starting Inventory on port 8080'),
            line('inventory-7d8e1-bbbbb', 'v2', 4, 'GET /items 500 3ms <b>not bold</b>'),
            ['dropped', { count: 3, reason: 'the client read too slowly' }],
          ]),
        });
        return;
      }
      // The stream was cut: the view opens it again from now on; this answer waits until the test paused.
      await secondMayGo;
      await route.fulfill({
        status: 200,
        contentType: 'text/event-stream',
        body: sse([line('inventory-7d8e1-bbbbb', 'v2', 10, 'GET /items 200 4ms'), ['error', { code: 'logs_failed', message: 'the watcher stopped following' }]]),
      });
    });
    await page.goto(`${gateway.url}/console/apps/${failedId}`);
    await page.getByRole('tab', { name: 'Logs' }).click();
    const view = page.getByTestId('log-lines');
    await view.getByText('GET /items 500 3ms <b>not bold</b>').waitFor();
    const rows = () => view.locator('.log-row').evaluateAll((r) => r.map((row) => (row as { textContent: string }).textContent));
    expect(await rows()).toEqual([
      expect.stringMatching(/^\d\d:\d\d:\d\d\.\d{3} Pod inventory-6b7c9-aaaaa \(v1\) started$/),
      '07:00:01.000 inventory-6b7c9-aaaaa v1 Starting Inventory on port 8080',
      '07:00:02.000 inventory-6b7c9-aaaaa v1 GET /items 200 12ms',
      expect.stringMatching(/Pod inventory-7d8e1-bbbbb \(v2\) started$/),
      '07:00:03.000 inventory-7d8e1-bbbbb v2 Starting Inventory on port 8080',
      '07:00:04.000 inventory-7d8e1-bbbbb v2 GET /items 500 3ms <b>not bold</b>',
      expect.stringMatching(/3 lines dropped: the client read too slowly$/),
    ]);
    expect(await view.locator('b').count()).toBe(0);

    // Paused while the stream is opened again: what arrives is counted, the view stays as it was.
    await page.getByTestId('logs-pause').click();
    const still = await rows();
    second();
    await expect.poll(async () => Number(await page.getByTestId('logs-arrived').getAttribute('data-arrived')), { timeout: 10_000 }).toBe(3);
    expect(asked).toEqual(['?follow=true&tail=200', '?follow=true']);
    expect(await rows()).toEqual(still);
    await page.locator('[data-testid="logs-state"][data-state="ended"]').waitFor();
    expect(await page.getByTestId('logs-error').innerText()).toContain('the watcher stopped following');
    await page.getByTestId('logs-pause').click();
    await expect.poll(rows, { timeout: 5_000 }).toEqual([
      ...still,
      expect.stringMatching(/Reconnected: lines printed while disconnected may be missing$/),
      '07:00:10.000 inventory-7d8e1-bbbbb v2 GET /items 200 4ms',
      expect.stringMatching(/The stream ended: the watcher stopped following$/),
    ]);
    await shoot('app-logs', true);
    expect(await seriousAxeViolations(page)).toEqual([]);

    // Filters: a pod keeps its lines and notices (and the stream's own); text keeps the lines holding it.
    await choose('Pod', 'inventory-6b7c9-aaaaa');
    expect((await rows()).filter((r) => r.includes('inventory-7d8e1-bbbbb'))).toEqual([]);
    expect((await rows()).filter((r) => r.includes('inventory-6b7c9-aaaaa'))).toHaveLength(3);
    await choose('Pod', 'All pods');
    await choose('Release', 'v2');
    expect((await rows()).filter((r) => r.includes(' v1 '))).toEqual([]);
    await choose('Release', 'All releases');
    await page.getByTestId('logs-filter').fill('get /items');
    // Three lines, and the notices of lines lost and of the stream's end.
    await expect.poll(async () => (await rows()).length).toBe(5);
    const shown = await rows();
    expect(shown.filter((r) => !r.includes('GET /items') && !r.includes('dropped') && !r.includes('stream ended'))).toEqual([]);

    const [download] = await Promise.all([page.waitForEvent('download'), page.getByTestId('logs-download').click()]);
    expect(download.suggestedFilename()).toMatch(/^inventory-logs-.*\.txt$/);
    const { readFile } = await import('node:fs/promises');
    expect((await readFile(await download.path(), 'utf8')).split('\n')).toEqual([
      '2026-12-05T07:00:02.000Z inventory-6b7c9-aaaaa v1 GET /items 200 12ms',
      '2026-12-05T07:00:04.000Z inventory-7d8e1-bbbbb v2 GET /items 500 3ms <b>not bold</b>',
      expect.stringMatching(/^\S+ 3 lines dropped: the client read too slowly$/),
      '2026-12-05T07:00:10.000Z inventory-7d8e1-bbbbb v2 GET /items 200 4ms',
      expect.stringMatching(/^\S+ The stream ended: the watcher stopped following$/),
      '',
    ]);
    await page.unroute(`**/apps/${failedId}/logs?follow=true*`);
  }, 60_000);

  it('a gateway without the log stream: the pods\' last lines once, named with their release, and a refresh', async () => {
    const v1 = (await gateway.db.query<{ id: string }>('select id from releases where app_id = $1', [failedId])).rows[0]?.id;
    // This gateway refuses `follow` (400); the view then asks for the last lines, served here as the watcher would.
    const asked: string[] = [];
    await page.route(`**/apps/${failedId}/logs?tail=200`, (route) => {
      asked.push(new URL(route.request().url()).search);
      return route.fulfill({
        json: {
          app_id: failedId,
          release: null,
          previous: false,
          pods: [
            { name: 'inventory-6b7c9-aaaaa', release_id: v1, phase: 'Running', container: 'app', lines: ['Starting Inventory', 'Caused by: java.net.BindException: Address already in use'] },
            { name: 'inventory-6b7c9-ccccc', release_id: v1, phase: 'Pending', container: 'app', lines: [], error: 'container app is waiting to start: ContainerCreating' },
          ],
        },
      });
    });
    await page.goto(`${gateway.url}/console/apps/${failedId}`);
    await page.getByRole('tab', { name: 'Logs' }).click();
    await page.locator('[data-testid="logs-state"][data-state="snapshot"]').waitFor();
    const rows = () => page.getByTestId('log-lines').locator('.log-row').evaluateAll((r) => r.map((row) => (row as { textContent: string }).textContent));
    await expect.poll(rows).toEqual([
      'inventory-6b7c9-aaaaa v1 Starting Inventory',
      'inventory-6b7c9-aaaaa v1 Caused by: java.net.BindException: Address already in use',
      'Pod inventory-6b7c9-ccccc: container app is waiting to start: ContainerCreating',
    ]);
    expect(await page.getByText(/^Not live: this gateway has no log stream/).count()).toBe(1);
    await page.getByRole('button', { name: 'Refresh', exact: true }).click();
    await expect.poll(() => asked.length).toBe(2);
    await page.unroute(`**/apps/${failedId}/logs?tail=200`);
  }, 60_000);

  it('the deploy and admin pages and the sign-in page answer without a serious or critical axe-core violation', async () => {
    for (const [name, path] of [
      ['deploy', '/deploy'],
      ['clusters', '/admin/clusters'],
      ['projects', '/admin/projects'],
      ['tokens', '/admin/tokens'],
    ] as const) {
      await page.goto(`${gateway.url}/console${path}`);
      await page.locator('main h2').first().waitFor();
      await page.waitForTimeout(300);
      await shoot(name);
      expect(await seriousAxeViolations(page), name).toEqual([]);
    }
    const signedOut = await (await browser.newContext()).newPage();
    await signedOut.goto(`${gateway.url}/console/`);
    await signedOut.locator('input[name="token"]').waitFor();
    if (screenshots) await signedOut.screenshot({ path: `${screenshots}/sign-in.png` });
    expect(await seriousAxeViolations(signedOut)).toEqual([]);
    await signedOut.context().close();
  }, 60_000);

  it('every page in Korean: no untranslated string, no serious or critical axe-core violation', async () => {
    const korean = await browser.newContext({ locale: 'ko-KR' });
    const p = await korean.newPage();
    await signIn(p, gateway.url, gateway.adminToken);
    const report: Record<string, unknown> = {};
    const check = async (name: string) => {
      const untranslated = await untranslatedStrings(p);
      const violations = await seriousAxeViolations(p);
      if (untranslated.length > 0 || violations.length > 0) report[name] = { untranslated, violations };
    };
    for (const path of ['/', `/apps/${canaryId}`, `/apps/${failedId}`, '/deploy', '/admin/clusters', '/admin/projects', '/admin/tokens']) {
      await p.goto(`${gateway.url}/console${path}`);
      await p.locator('main h2').first().waitFor();
      await p.waitForTimeout(300);
      await check(path);
      if (path.startsWith('/apps/')) {
        for (const tab of ['메트릭', '타임라인', '로그', '이력', '수정']) {
          await p.getByRole('tab', { name: tab }).click();
          await p.waitForTimeout(tab === '메트릭' ? 1_500 : 400);
          await check(`${path} ${tab}`);
        }
      }
      if (path === `/apps/${canaryId}` && screenshots) await p.screenshot({ path: `${screenshots}/app-canary-ko.png` });
    }
    expect(report).toEqual({});
    await korean.close();
  }, 120_000);
});
