import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { appMetricNames, appMetricQueries } from '@appserving/shared/contracts';
import { describe, expect, it } from 'vitest';
import { appsDashboard, appsDashboardFile, dashboardVars, onTracks, panelSpecs } from '../scripts/apps-dashboard.ts';

const file = join(import.meta.dirname, '..', 'appserving', 'files', 'grafana-apps-dashboard.json');

describe('the apps dashboard the chart carries', () => {
  it('is the one generated from the app metrics contract', () => {
    // On failure: pnpm --filter @appserving/deploy apps-dashboard
    expect(readFileSync(file, 'utf8')).toBe(appsDashboardFile());
  });

  it('shows every series of the contract, each with the contract\'s own query', () => {
    const dashboard = JSON.parse(readFileSync(file, 'utf8')) as ReturnType<typeof appsDashboard>;
    const queries = appMetricQueries(dashboardVars);
    const exprs = dashboard.panels.flatMap((p) => p.targets.map((t) => t.expr));
    expect(panelSpecs.flatMap((p) => p.targets.map((t) => t.metric)).sort()).toEqual([...appMetricNames].sort());
    for (const metric of appMetricNames) expect(exprs, metric).toContain(onTracks(queries[metric]));
    // The variables are the dashboard's own: nothing of a real app is left in.
    for (const expr of exprs) expect(expr).toMatch(/namespace="\$namespace"|service=~"\$namespace-\$app/);
  });

  it('has the variables namespace, app and track, and panels that do not overlap', () => {
    const dashboard = appsDashboard();
    expect(dashboard.templating.list.map((v) => v.name)).toEqual(['datasource', 'namespace', 'app', 'track']);
    const cells = new Set<string>();
    for (const { gridPos: g } of dashboard.panels) {
      for (let x = g.x; x < g.x + g.w; x += 1) {
        for (let y = g.y; y < g.y + g.h; y += 1) {
          expect(cells.has(`${x},${y}`), `cell ${x},${y}`).toBe(false);
          cells.add(`${x},${y}`);
        }
      }
    }
    expect(new Set(dashboard.panels.map((p) => p.id)).size).toBe(dashboard.panels.length);
  });

  it('names the app from its pods\' names, primary or not', () => {
    const variable = appsDashboard().templating.list.find((v) => v.name === 'app') as { regex: string };
    const regex = new RegExp(variable.regex.slice(1, -1));
    const appOf = (pod: string) => regex.exec(pod)?.[1];
    expect(appOf('orders-7c4b8d9f6-fghij')).toBe('orders');
    expect(appOf('orders-primary-6d9f7c5b4-abcde')).toBe('orders');
    expect(appOf('my-shop-api-5d8c7b9f4-x2k9q')).toBe('my-shop-api');
    expect(appOf('build-abc')).toBeUndefined();
  });
});
