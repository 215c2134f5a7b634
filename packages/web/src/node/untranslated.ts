import type { Page } from 'playwright-core';
import { en } from '../i18n/en.ts';
import { ko } from '../i18n/ko.ts';

type Tree = { [key: string]: string | Tree };

function flatten(tree: Tree, prefix = ''): Map<string, string> {
  const out = new Map<string, string>();
  for (const [key, value] of Object.entries(tree)) {
    if (typeof value === 'string') out.set(`${prefix}${key}`, value);
    else for (const [k, v] of flatten(value, `${prefix}${key}.`)) out.set(k, v);
  }
  return out;
}

const english = flatten(en);
const korean = flatten(ko);
const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
/** An English message as a pattern (its {{values}} match anything), for messages Korean says differently. */
const templates = [...english]
  .filter(([key, text]) => korean.get(key) !== text)
  .map(([key, text]) => ({ key, pattern: new RegExp(`^${text.split(/\{\{[^}]+\}\}/).map(escape).join('.*')}$`, 's') }));
const keyLike = new RegExp(`^(${Object.keys(en).join('|')})\\.[A-Za-z0-9_.-]+$`);
/** Shown in English on purpose: the language switch names each language in itself. */
const NATIVE = new Set(['English']);

/**
 * The strings on a page (text, and the aria-label, placeholder, title and alt attributes) that are English
 * messages of the console or untranslated keys: on a page in Korean there must be none. Values from the
 * platform (names, versions, images, messages it wrote) are neither, and pass.
 */
export async function untranslatedStrings(page: Page): Promise<string[]> {
  const strings = await page.evaluate(() => {
    const found: string[] = [];
    const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
    for (let node = walker.nextNode(); node; node = walker.nextNode()) {
      const parent = node.parentElement;
      if (!parent || parent.closest('script, style, noscript')) continue;
      const text = node.textContent?.trim();
      if (text) found.push(text);
    }
    for (const element of document.querySelectorAll('[aria-label], [placeholder], [title], [alt]')) {
      for (const name of ['aria-label', 'placeholder', 'title', 'alt']) {
        const value = element.getAttribute(name)?.trim();
        if (value) found.push(value);
      }
    }
    found.push(document.title);
    return found;
  });
  return [...new Set(strings)].filter((s) => !NATIVE.has(s) && (keyLike.test(s) || templates.some((t) => t.pattern.test(s))));
}
