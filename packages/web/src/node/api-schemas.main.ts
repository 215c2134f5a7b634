import { writeFileSync } from 'node:fs';
import { apiSchemas } from './api-schemas.ts';

writeFileSync(new URL('../generated/api-schemas.json', import.meta.url), apiSchemas());
