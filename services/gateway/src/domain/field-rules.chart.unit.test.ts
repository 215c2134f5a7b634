import { randomUUID } from 'node:crypto';
import { InputError, schemaProblems } from '@appserving/shared';
import { fieldCases } from '@appserving/shared/testing';
import { describe, expect, it } from 'vitest';
import { CreateAppBody } from '../schemas/app.schemas.ts';
import { chartProblems } from '../testing/chart-check.ts';
import { caseRequest } from '../testing/field-cases.ts';
import { resolveRelease } from './release-spec.ts';

/** The API's verdict on a create body: its schema, then the release it resolves to (pure, as the route runs them). */
function verdict(body: Record<string, unknown>): { problems: string[]; release?: ReturnType<typeof resolveRelease> } {
  const schema = schemaProblems(CreateAppBody, body, 20);
  if (schema.length > 0) return { problems: schema.map((p) => p.path) };
  try {
    return { problems: [], release: resolveRelease(body, undefined) };
  } catch (error) {
    if (!(error instanceof InputError)) throw error;
    return { problems: ((error.details?.problems ?? []) as { path: string }[]).map((p) => p.path) };
  }
}

describe('the shared cases, through the API\'s rules and then the chart the deployer installs', () => {
  const placed = fieldCases.flatMap((c) => {
    const request = caseRequest(c);
    return request ? [[c.rule, JSON.stringify(c.value).slice(0, 50), c, request] as const] : [];
  });

  it.each(placed)('%s %s', (_rule, _value, c, request) => {
    const { problems, release } = verdict({ name: 'cases', ...request.body });
    if (c.platform === 'refuse') {
      expect(problems.length, 'refused').toBeGreaterThan(0);
      expect(problems.some((p) => p.startsWith(request.field)), `a problem names ${request.field}: ${problems.join(', ')}`).toBe(true);
      return;
    }
    expect(problems).toEqual([]);
    // Accepted by the API: the chart takes it too, so the release cannot fail later for this value.
    const spec = release?.spec;
    if (!spec) throw new Error('no release');
    const ref = { app_id: randomUUID(), app_name: 'cases', release_id: randomUUID(), version: 1, cluster_id: randomUUID() };
    expect(chartProblems({ release: ref, spec, image: spec.image_url ?? 'registry.example.com/cases/app:1', versionLabel: 'v1', namespace: 'cases', secrets: release.secrets ?? {} })).toEqual([]);
  });
});
