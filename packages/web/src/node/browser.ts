import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';

/**
 * Debian's Chromium (`apt-get install chromium`, scripts/ensure-services.sh), driven by playwright-core.
 * Never a downloaded browser. The flags keep it off the network (this machine has none) and out of any state
 * of an earlier run: a fresh profile each launch.
 */
export const CHROMIUM = process.env.APPSERVING_CHROMIUM ?? '/usr/bin/chromium';
export const CHROMIUM_FLAGS = ['--headless', '--no-sandbox', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-gpu'];

export interface ConsoleBrowser {
  browser: Browser;
  /** A new context (own cookies and storage): one signed-in user each. */
  newContext(options?: { locale?: string }): Promise<BrowserContext>;
  close(): Promise<void>;
}

export async function launchChromium(): Promise<ConsoleBrowser> {
  // playwright-core starts Chromium with a fresh, empty --user-data-dir of its own (a temporary folder it
  // removes on close) and refuses one passed in the flags; every context is then a separate cookie jar.
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_FLAGS, headless: true });
  return {
    browser,
    newContext: (options = {}) => browser.newContext({ locale: options.locale ?? 'en-US', viewport: { width: 1366, height: 900 } }),
    close: () => browser.close(),
  };
}

/** Signs a page in through the sign-in form (the only time the token is typed). */
export async function signIn(page: Page, baseUrl: string, token: string): Promise<void> {
  await page.goto(`${baseUrl}/console/`);
  await page.locator('input[name="token"]').fill(token);
  await page.locator('form button[type="submit"]').click();
  await page.locator('nav').first().waitFor();
}

let axeSource: string | undefined;

export interface AxeViolation {
  id: string;
  impact: string | null;
  help: string;
  nodes: { target: unknown[]; html: string }[];
}

/** axe-core's serious and critical violations on the page as it is now. */
export async function seriousAxeViolations(page: Page): Promise<AxeViolation[]> {
  axeSource ??= await readFile(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');
  // Evaluated through the DevTools protocol, not added as an inline script: the page's CSP stays on.
  await page.evaluate(axeSource);
  const results = await page.evaluate(async () => {
    const axe = (window as unknown as { axe: { run: (context: unknown, options: unknown) => Promise<{ violations: AxeViolation[] }> } }).axe;
    return axe.run(document, { resultTypes: ['violations'] });
  });
  return results.violations
    .filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map((v) => ({ id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.slice(0, 3).map((n) => ({ target: n.target, html: n.html.slice(0, 200) })) }));
}

/**
 * Every place a page script can read: cookies visible to scripts, both storages, the DOM (text, attributes
 * and input values), and the text of every script the page loaded. Returns the places where `secret` appears.
 */
export async function whereScriptsSee(page: Page, secret: string): Promise<string[]> {
  return page.evaluate(async (needle: string) => {
    const found: string[] = [];
    if (document.cookie.includes(needle)) found.push('document.cookie');
    for (const [name, storage] of [
      ['localStorage', localStorage],
      ['sessionStorage', sessionStorage],
    ] as const) {
      for (let i = 0; i < storage.length; i += 1) {
        const key = storage.key(i) ?? '';
        if (key.includes(needle) || (storage.getItem(key) ?? '').includes(needle)) found.push(`${name}[${key}]`);
      }
    }
    if (document.documentElement.outerHTML.includes(needle)) found.push('the DOM');
    for (const input of document.querySelectorAll('input, textarea')) {
      if ((input).value.includes(needle)) found.push(`the value of an ${input.tagName.toLowerCase()}`);
    }
    for (const script of document.querySelectorAll('script[src]')) {
      const text = await (await fetch((script).src)).text();
      if (text.includes(needle)) found.push(`script ${(script).src}`);
    }
    // Whatever the session endpoint tells the page.
    const session = await (await fetch('/session')).text();
    if (session.includes(needle)) found.push('GET /session');
    return found;
  }, secret);
}
