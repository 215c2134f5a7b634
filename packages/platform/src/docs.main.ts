// Regenerates the parts of the docs that come from code: the configuration table in README.md and
// docs/asyncapi.json. `docs.unit.test.ts` fails when they are out of date.
import { readFile, writeFile } from 'node:fs/promises';
import { asyncApiDocument, configurationReference } from './docs.ts';
import { replaceGenerated } from './docs-files.ts';

const root = new URL('../../../', import.meta.url);
const readmeUrl = new URL('README.md', root);
await writeFile(readmeUrl, replaceGenerated(await readFile(readmeUrl, 'utf8'), 'configuration', configurationReference()));
await writeFile(new URL('docs/asyncapi.json', root), `${JSON.stringify(asyncApiDocument(), null, 2)}\n`);
console.log('README.md configuration table and docs/asyncapi.json regenerated');
