import { InputError } from '@appserving/shared';
import { describe, expect, it } from 'vitest';
import { inferAppType, resolveRelease } from './release-spec.ts';

const seedBody = {
  version: 'v1',
  task_type: 'all' as const,
  artifact_url: 'http://nexus.example/repository/my-release-repo/default/petclinic/1.0/petclinic-1.0.jar',
  port: '8080',
  resource_spec: 'medium' as const,
  profile: 'default',
};

function problemsOf(fn: () => unknown): string[] {
  try {
    fn();
  } catch (error) {
    if (error instanceof InputError) return ((error.details?.problems ?? []) as { path: string }[]).map((p) => p.path);
    throw error;
  }
  throw new Error('expected an InputError');
}

describe('resolveRelease', () => {
  it("resolves the seed's create request with defaults filled in", () => {
    const r = resolveRelease(seedBody, undefined);
    expect(r.taskType).toBe('all');
    expect(r.versionLabel).toBe('v1');
    expect(r.spec).toEqual({
      app_type: 'jar',
      artifact_url: seedBody.artifact_url,
      port: 8080,
      resource_spec: 'medium',
      profile: 'default',
      strategy: 'rolling',
      env: {},
      config: {},
      secret_names: [],
      volumes: [],
      replicas: 1,
    });
  });

  it('keeps previous values for fields left out of an update', () => {
    const v1 = resolveRelease({ ...seedBody, env: { A: '1' }, secrets: { 'db.password': 's3cret' } }, undefined).spec;
    const v2 = resolveRelease({ artifact_url: 'http://nexus.example/petclinic-2.0.jar' }, v1);
    expect(v2.spec).toMatchObject({ port: 8080, resource_spec: 'medium', profile: 'default', env: { A: '1' }, secret_names: ['db.password'] });
    expect(v2.spec.artifact_url).toBe('http://nexus.example/petclinic-2.0.jar');
    expect(v2.secrets).toBeUndefined();
    expect(v2.versionLabel).toBeUndefined();
  });

  it('carries build_method into the spec and keeps it for later releases', () => {
    const first = resolveRelease({ ...seedBody, build_method: 'kaniko' }, undefined);
    expect(first.spec.build_method).toBe('kaniko');
    expect(resolveRelease({ version: 'v2' }, first.spec).spec.build_method).toBe('kaniko');
    expect(resolveRelease(seedBody, undefined).spec.build_method).toBeUndefined();
  });

  it('does not carry an old checksum over to a new artifact', () => {
    const v1 = resolveRelease({ ...seedBody, artifact_sha256: 'a'.repeat(64) }, undefined).spec;
    expect(resolveRelease({ artifact_url: 'http://nexus.example/b.jar' }, v1).spec.artifact_sha256).toBeUndefined();
    expect(resolveRelease({ replicas: 3 }, v1).spec.artifact_sha256).toBe('a'.repeat(64));
  });

  it('never puts secret values in the spec', () => {
    const r = resolveRelease({ ...seedBody, secrets: { 'db.password': 'hunter2' } }, undefined);
    expect(JSON.stringify(r.spec)).not.toContain('hunter2');
    expect(r.secrets).toEqual({ 'db.password': 'hunter2' });
  });

  it('keeps analysis and autoscaling settings across updates, and refuses ranges that cannot hold', () => {
    const first = resolveRelease({ ...seedBody, strategy: 'canary', analysis: { step_weight: 20, max_weight: 60 }, autoscaling: { min_replicas: 2, max_replicas: 5 } }, undefined);
    const next = resolveRelease({ version: 'v2' }, first.spec);
    expect(next.spec.analysis).toEqual({ step_weight: 20, max_weight: 60 });
    expect(next.spec.autoscaling).toEqual({ min_replicas: 2, max_replicas: 5 });
    expect(problemsOf(() => resolveRelease({ ...seedBody, autoscaling: { min_replicas: 6, max_replicas: 5 } }, undefined))).toEqual(['/autoscaling/min_replicas']);
    expect(problemsOf(() => resolveRelease({ ...seedBody, analysis: { step_weight: 70, max_weight: 50 } }, undefined))).toEqual(['/analysis/step_weight']);
  });

  it('keeps health thresholds across updates until replaced; {} turns them off; a window outside 30s..1h is refused', () => {
    const first = resolveRelease({ ...seedBody, health_thresholds: { max_error_ratio: 0.05, window: '2m' } }, undefined);
    expect(first.spec.health_thresholds).toEqual({ max_error_ratio: 0.05, window: '2m' });
    expect(resolveRelease({ version: 'v2' }, first.spec).spec.health_thresholds).toEqual({ max_error_ratio: 0.05, window: '2m' });
    expect(resolveRelease({ health_thresholds: { max_latency_p95_ms: 300 } }, first.spec).spec.health_thresholds).toEqual({ max_latency_p95_ms: 300 });
    expect(resolveRelease({ health_thresholds: {} }, first.spec).spec.health_thresholds).toEqual({});
    expect(resolveRelease(seedBody, undefined).spec.health_thresholds).toBeUndefined();
    expect(problemsOf(() => resolveRelease({ ...seedBody, health_thresholds: { window: '10s' } }, undefined))).toEqual(['/health_thresholds/window']);
    expect(problemsOf(() => resolveRelease({ ...seedBody, health_thresholds: { window: '3601s' } }, undefined))).toEqual(['/health_thresholds/window']);
    expect(resolveRelease({ ...seedBody, health_thresholds: { window: '60m' } }, undefined).spec.health_thresholds).toEqual({ window: '60m' });
  });

  it('says what a task needs and is missing', () => {
    expect(problemsOf(() => resolveRelease({ task_type: 'all' }, undefined))).toEqual(['/artifact_url', '/app_type']);
    expect(problemsOf(() => resolveRelease({ task_type: 'build', artifact_url: 'https://x.example/app.tar.gz' }, undefined))).toEqual(['/app_type']);
    expect(problemsOf(() => resolveRelease({ task_type: 'deploy' }, undefined))).toEqual(['/image_url']);
    expect(problemsOf(() => resolveRelease({ artifact_url: 'ftp://x.example/a.jar' }, undefined))).toEqual(['/artifact_url']);
    expect(resolveRelease({ task_type: 'deploy', image_url: 'registry.example/app:1' }, undefined).spec.image_url).toBe('registry.example/app:1');
  });

  it('tells jar, war and python (zip) apart by extension only', () => {
    expect(inferAppType('https://x.example/a.JAR?token=1')).toBe('jar');
    expect(inferAppType('https://x.example/a.war#x')).toBe('war');
    expect(inferAppType('https://x.example/app.zip')).toBe('python');
    expect(inferAppType('orders-1.4.2.jar')).toBe('jar');
    expect(inferAppType('https://x.example/app.tar.gz')).toBeUndefined();
  });
});
