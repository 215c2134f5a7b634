import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { asyncApiDocument, configurationReference } from './docs.ts';
import { generatedSection } from './docs-files.ts';

const root = new URL('../../../', import.meta.url);

describe('docs generated from code are current (run `pnpm docs:generate` if this fails)', () => {
  it('README.md lists every setting exactly as the services validate them', async () => {
    const readme = await readFile(new URL('README.md', root), 'utf8');
    expect(generatedSection(readme, 'configuration')).toBe(configurationReference());
  });

  it('docs/asyncapi.json describes the catalog', async () => {
    const published = JSON.parse(await readFile(new URL('docs/asyncapi.json', root), 'utf8'));
    expect(published).toEqual(JSON.parse(JSON.stringify(asyncApiDocument())));
    expect(Object.keys(published.channels)).toContain('command-build-v1');
    expect(published.channels['command-build-v1'].address).toBe('appserving.cmd.build.{appId}');
  });
});
