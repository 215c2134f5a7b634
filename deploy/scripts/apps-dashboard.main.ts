import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { appsDashboardFile } from './apps-dashboard.ts';

// Writes the apps dashboard, built from the app metrics contract's queries, where the chart reads it.
const target = join(import.meta.dirname, '..', 'appserving', 'files', 'grafana-apps-dashboard.json');
writeFileSync(target, appsDashboardFile());
process.stdout.write(`wrote ${target}\n`);
