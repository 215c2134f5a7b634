import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { natsPermissionsFile } from './nats-permissions.ts';

// Writes the NATS permissions of each service, derived from the message catalog, where the chart reads them.
const target = join(import.meta.dirname, '..', 'appserving', 'charts', 'nats', 'files', 'permissions.json');
writeFileSync(target, natsPermissionsFile());
process.stdout.write(`wrote ${target}\n`);
