import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { analysisMetrics, consumers } from '@appserving/shared/contracts';
import { createMetrics } from '@appserving/shared/telemetry';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { natsPermissions, natsPermissionsFile, ownerOf, SERVICES } from '../scripts/nats-permissions.ts';

const chart = join(import.meta.dirname, '..', 'appserving');
const read = (path: string) => readFileSync(join(chart, path), 'utf8');

describe('files the chart carries stay true to the code', () => {
  it('the NATS permissions file is the one generated from the current message catalog', () => {
    // On failure: pnpm --filter @appserving/deploy nats-permissions
    expect(read('charts/nats/files/permissions.json')).toBe(natsPermissionsFile());
  });

  it('each durable consumer is pulled (and acknowledged) by its owning service only', () => {
    const permissions = natsPermissions();
    for (const consumer of Object.values(consumers)) {
      const pull = `$JS.API.CONSUMER.MSG.NEXT.${consumer.stream.name}.${consumer.name}`;
      for (const service of SERVICES) {
        const rules = permissions[service].publish;
        const allowed = rules.allow.includes(pull) || (rules.allow.includes(`$JS.API.CONSUMER.MSG.NEXT.${consumer.stream.name}.*`) && !rules.deny.includes(pull));
        expect(allowed, `${service} may pull ${consumer.name}`).toBe(service === ownerOf(consumer));
      }
    }
  });

  it('only the gateway (and the builder, for deploy after build) publish commands; events come from their owner', () => {
    const permissions = natsPermissions();
    const publishes = (service: (typeof SERVICES)[number], subject: string) => permissions[service].publish.allow.includes(subject);
    expect(SERVICES.filter((s) => publishes(s, 'appserving.cmd.build.*'))).toEqual(['gateway']);
    expect(SERVICES.filter((s) => publishes(s, 'appserving.cmd.deploy.*'))).toEqual(['gateway', 'builder']);
    expect(SERVICES.filter((s) => publishes(s, 'appserving.evt.deploy.step.*'))).toEqual(['deployer']);
    expect(SERVICES.filter((s) => publishes(s, 'appserving.evt.release.status.*'))).toEqual(['watcher']);
    for (const service of SERVICES) {
      const all = [...permissions[service].publish.allow, ...permissions[service].subscribe.allow];
      expect(all.filter((s) => s === '>' || s === '$JS.API.>' || s.startsWith('$JS.API.STREAM.DELETE') || s.startsWith('$JS.API.CONSUMER.DELETE.APPSERVING_COMMANDS')), service).toEqual([]);
    }
  });

  it('the shared MetricTemplates use the analysis queries of packages/shared (contracts/analysis.ts)', () => {
    const values = parse(read('values.yaml')) as { flaggerMetricTemplates: { queries: Record<string, string> } };
    expect(values.flaggerMetricTemplates.queries).toEqual({
      [analysisMetrics.requestSuccessRate.name]: analysisMetrics.requestSuccessRate.query,
      [analysisMetrics.requestDuration.name]: analysisMetrics.requestDuration.query,
    });
  });

  it('every metric the Grafana dashboard queries is one the services export', async () => {
    const dashboard = JSON.parse(read('files/grafana-dashboard.json')) as { panels: { title: string; targets: { expr: string }[] }[] };
    const exported = await createMetrics('test').registry.metrics();
    const names = new Set([...exported.matchAll(/^# TYPE (\S+) (\S+)$/gm)].flatMap(([, name = '', type]) => (type === 'histogram' ? [`${name}_bucket`, `${name}_sum`, `${name}_count`] : [name])));
    const queried = dashboard.panels.flatMap((p) => p.targets.flatMap((t) => [...t.expr.matchAll(/\b((?:appserving|process|nodejs)_[a-z0-9_]+)\b/g)].map((m) => m[1] as string)));
    expect(queried.length).toBeGreaterThan(5);
    for (const metric of queried) expect(names.has(metric), `${metric} is exported`).toBe(true);
  });
});
