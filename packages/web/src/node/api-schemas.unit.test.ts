import { readFileSync } from 'node:fs';
import { expect, it } from 'vitest';
import { apiSchemas } from './api-schemas.ts';

it('the console validates forms with the gateway\'s current request schemas (run `pnpm --filter @appserving/web build` after changing them)', () => {
  expect(readFileSync(new URL('../generated/api-schemas.json', import.meta.url), 'utf8')).toBe(apiSchemas());
});
