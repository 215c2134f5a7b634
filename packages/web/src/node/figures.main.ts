// Figures of the web console (docs/web.md): the JavaScript a first load of the app page sends (gzipped and as
// sent, brotli), and Lighthouse's performance and accessibility scores of that page, in Debian's Chromium.
// Run: pnpm --filter @appserving/web figures   (NATS and Postgres on 127.0.0.1, the console built)
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { freePort } from '@appserving/shared/testing';
import lighthouse from 'lighthouse';
import desktopConfig from 'lighthouse/core/config/desktop-config.js';
import { CHROMIUM, CHROMIUM_FLAGS, launchChromium, signIn } from './browser.ts';
import { ensureConsoleBuilt } from './build.ts';
import { startConsoleGateway } from './gateway.ts';
import { seedApps, seedCluster, seedShowcase } from './seed.ts';

const dist = fileURLToPath(new URL('../../dist/', import.meta.url));
const RUNS = Number(process.env.FIGURES_RUNS ?? 5);
const kb = (bytes: number) => `${(bytes / 1024).toFixed(1)} KB`;

await ensureConsoleBuilt();
const gateway = await startConsoleGateway();
try {
  const { clusterId, projects } = await seedCluster(gateway.db);
  await seedApps(gateway.db, clusterId, projects, 200);
  const appId = await seedShowcase(gateway.db, clusterId, projects[0]?.id as string);
  const appUrl = `${gateway.url}/console/apps/${appId}`;

  // 1. JavaScript of a first load of the app page (a signed-in browser with an empty cache).
  const browser = await launchChromium();
  const context = await browser.newContext();
  const signInPage = await context.newPage();
  await signIn(signInPage, gateway.url, gateway.adminToken);
  await signInPage.close();
  const page = await context.newPage();
  const cdp = await context.newCDPSession(page);
  await cdp.send('Network.enable');
  await cdp.send('Network.setCacheDisabled', { cacheDisabled: true });
  const scripts = new Map<string, number>();
  const transfer = new Map<string, number>();
  cdp.on('Network.responseReceived', (event) => {
    if (event.type !== 'Script') return;
    scripts.set(event.requestId, 0);
    transfer.set(event.response.url, 0);
  });
  const urlOf = new Map<string, string>();
  cdp.on('Network.requestWillBeSent', (event) => urlOf.set(event.requestId, event.request.url));
  cdp.on('Network.loadingFinished', (event) => {
    if (scripts.has(event.requestId)) transfer.set(urlOf.get(event.requestId) ?? event.requestId, event.encodedDataLength);
  });
  await page.goto(appUrl, { waitUntil: 'networkidle' });
  await page.getByTestId('gate-waiting').waitFor();
  await page.waitForTimeout(1000);
  let gzipped = 0;
  let sent = 0;
  const files: string[] = [];
  for (const [url, bytes] of transfer) {
    const path = new URL(url).pathname.replace(/^\/console\//, '');
    const body = await readFile(`${dist}${path}`);
    gzipped += gzipSync(body, { level: 9 }).length;
    sent += bytes;
    files.push(`${path} ${kb(body.length)} raw`);
  }
  await browser.close();

  // 2. Lighthouse on the same page, signed in (the session cookie as a header), in the same Chromium.
  const signedIn = await fetch(`${gateway.url}/session`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', origin: gateway.url },
    body: JSON.stringify({ token: gateway.adminToken }),
  });
  const cookie = (signedIn.headers.get('set-cookie') ?? '').split(';')[0] ?? '';
  const port = await freePort();
  // Lighthouse scores assume a quiet machine; this one is shared with other builds. With FIGURES_NICE (root), the
  // browser runs at that higher priority so their CPU use distorts the timings less (docs/web.md says which).
  const profile = await mkdtemp(join(tmpdir(), 'appserving-lighthouse-'));
  const chromeArgs = [...CHROMIUM_FLAGS, `--remote-debugging-port=${port}`, `--user-data-dir=${profile}`, 'about:blank'];
  const nice = process.env.FIGURES_NICE;
  const chrome = nice ? spawn('nice', ['-n', nice, CHROMIUM, ...chromeArgs], { stdio: 'ignore' }) : spawn(CHROMIUM, chromeArgs, { stdio: 'ignore' });
  try {
    for (let i = 0; i < 100; i += 1) {
      if (await fetch(`http://127.0.0.1:${port}/json/version`).then((r) => r.ok).catch(() => false)) break;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    const scores: Record<string, { performance: number; accessibility: number; runs: string }> = {};
    const metrics: Record<string, string> = {};
    for (const [name, config] of [
      ['desktop', desktopConfig],
      ['mobile (Lighthouse default: slow 4G, 4x CPU slowdown, simulated)', undefined],
    ] as const) {
      // The machine is shared: several runs, the median reported (with the range).
      const runs = [];
      for (let i = 0; i < RUNS; i += 1) {
        const run = await lighthouse(appUrl, { port, output: 'json', logLevel: 'error', onlyCategories: ['performance', 'accessibility'], extraHeaders: { Cookie: cookie } }, config);
        if (run) runs.push(run);
      }
      runs.sort((a, b) => (a.lhr.categories.performance?.score ?? 0) - (b.lhr.categories.performance?.score ?? 0));
      const result = runs[Math.floor(runs.length / 2)];
      const categories = result?.lhr.categories;
      const range = runs.map((r) => Math.round((r.lhr.categories.performance?.score ?? 0) * 100));
      scores[name] = {
        performance: Math.round((categories?.performance?.score ?? 0) * 100),
        accessibility: Math.round((categories?.accessibility?.score ?? 0) * 100),
        runs: range.join(' '),
      };
      const audits = result?.lhr.audits ?? {};
      metrics[name] = ['first-contentful-paint', 'largest-contentful-paint', 'total-blocking-time', 'cumulative-layout-shift', 'speed-index']
        .map((id) => `${id} ${audits[id]?.displayValue ?? '?'}`)
        .join(', ');
      if (process.env.FIGURES_DEBUG) {
        for (const id of ['mainthread-work-breakdown', 'long-tasks', 'layout-shifts', 'largest-contentful-paint-element', 'render-blocking-resources']) {
          process.stderr.write(`${id}: ${JSON.stringify((audits[id]?.details as { items?: unknown[] } | undefined)?.items?.slice(0, 8))}\n`);
        }
      }
    }
    process.stdout.write(
      [
        `load average at the end: ${loadavg().map((l) => l.toFixed(1)).join(' ')} (2 cores); Chromium ${nice ? `at nice ${nice}` : 'at normal priority'}`,
        `app page, first load: ${transfer.size} JavaScript files, ${kb(gzipped)} gzipped (gzip -9), ${kb(sent)} as sent (brotli)`,
        ...files.map((f) => `  ${f}`),
        ...Object.entries(scores).map(([name, s]) => `Lighthouse ${name}: performance ${s.performance} (median of ${RUNS}: ${s.runs}), accessibility ${s.accessibility} (${metrics[name] ?? ''})`),
        '',
      ].join('\n'),
    );
  } finally {
    chrome.kill('SIGTERM');
    await new Promise((resolve) => chrome.once('exit', resolve));
    await rm(profile, { recursive: true, force: true });
  }
} finally {
  await gateway.stop();
}
