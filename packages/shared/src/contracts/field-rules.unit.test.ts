import { describe, expect, it } from 'vitest';
import { decodeCloudEvent, encodeCloudEvent } from '../messaging/codec.ts';
import { createCloudEvent } from './cloudevent.ts';
import { BuildCommandV1, DeployCommandV1 } from './commands.ts';
import { fieldCases } from './field-rules.cases.ts';
import { fieldRules, passesRule, specLimits } from './field-rules.ts';
import { parseImageReference, registryHostOf } from './image-reference.ts';
import { releaseSpecProblems } from './release-spec.rules.ts';
import type { ReleaseSpecV1 } from './release.schemas.ts';

describe('field rules: the shared table of cases', () => {
  it.each(fieldCases.map((c) => [c.rule, JSON.stringify(c.value).slice(0, 60), c] as const))('%s %s', (_rule, _value, c) => {
    expect(passesRule(c.rule, c.value)).toBe(c.platform === 'accept');
  });

  it('refuses every value the Kubernetes API server refuses, and says why it refuses more', () => {
    for (const c of fieldCases) {
      if (c.kubernetes === 'refuse') expect(c.platform, `${c.rule} ${JSON.stringify(c.value)}`).toBe('refuse');
      if (c.platform === 'refuse' && c.kubernetes === 'accept') expect(c.why, `${c.rule} ${JSON.stringify(c.value)} needs a why`).toBeTruthy();
    }
  });

  it('has cases for every rule, accepted and refused', () => {
    for (const rule of Object.keys(fieldRules)) {
      if (rule === 'versionLabel') continue;
      expect(fieldCases.some((c) => c.rule === rule && c.platform === 'accept'), rule).toBe(true);
      expect(fieldCases.some((c) => c.rule === rule && c.platform === 'refuse'), rule).toBe(true);
    }
  });
});

describe('parseImageReference', () => {
  it.each([
    ['nginx', { registry: 'docker.io', repository: 'library/nginx', tag: undefined, digest: undefined }],
    ['nginx:1.27', { registry: 'docker.io', repository: 'library/nginx', tag: '1.27' }],
    ['team/app:1', { registry: 'docker.io', repository: 'team/app', tag: '1' }],
    ['localhost/app', { registry: 'localhost', host: 'localhost', repository: 'app' }],
    ['127.0.0.1:5000/ns/app:v1@sha256:' + 'a'.repeat(64), { registry: '127.0.0.1:5000', host: '127.0.0.1', port: 5000, repository: 'ns/app', tag: 'v1', digest: 'sha256:' + 'a'.repeat(64), name: '127.0.0.1:5000/ns/app:v1' }],
    ['Registry.Example.COM/app', { registry: 'registry.example.com', host: 'registry.example.com', repository: 'app' }],
    ['169.254.169.254/latest:1', { registry: '169.254.169.254', repository: 'latest', tag: '1' }],
  ])('%s', (reference, expected) => {
    expect(parseImageReference(reference)).toMatchObject(expected);
  });

  it.each(['UPPER/Case', 'nginx:1; rm -rf /', '-oProxyCommand=x', 'file:///etc/passwd', 'a:99999/x', `r.io/${'a'.repeat(255)}`, ''])('refuses %s', (reference) => {
    expect(parseImageReference(reference)).toBeUndefined();
  });

  it('reads the host and port of a registry setting', () => {
    expect(registryHostOf('harbor.example.com/appserving')).toBe('harbor.example.com');
    expect(registryHostOf('127.0.0.1:26408')).toBe('127.0.0.1:26408');
    expect(registryHostOf('')).toBe('');
  });
});

const spec = (over: Partial<ReleaseSpecV1> = {}): ReleaseSpecV1 => ({ port: 8080, resource_spec: 'small', strategy: 'rolling', env: {}, config: {}, secret_names: [], volumes: [], replicas: 1, ...over });

describe('releaseSpecProblems', () => {
  it('accepts an ordinary spec', () => {
    expect(releaseSpecProblems(spec({ env: { JAVA_TOOL_OPTIONS: '-Xss1m' }, volumes: [{ name: 'data', mount_path: '/data', size: '1Gi' }] }))).toEqual([]);
  });

  it('refuses volume names and mount paths that clash, with each other or with what the chart mounts', () => {
    const problems = releaseSpecProblems(
      spec({
        volumes: [
          { name: 'data', mount_path: '/data', size: '1Gi' },
          { name: 'data', mount_path: '/data', size: '1Gi' },
          { name: 'config', mount_path: '/app/config', size: '1Gi' },
        ],
      }),
    );
    expect(problems.map((p) => p.path)).toEqual(['/volumes/1/name', '/volumes/1/mount_path', '/volumes/2/name', '/volumes/2/mount_path']);
  });

  it('refuses more env and config than a release can carry, and a JAVA_TOOL_OPTIONS the chart cannot put on one line', () => {
    const big = 'x'.repeat(specLimits.maxPayloadBytes);
    expect(releaseSpecProblems(spec({ config: { 'a.txt': big } })).map((p) => p.path)).toEqual(['/config']);
    expect(releaseSpecProblems(spec({ env: { JAVA_TOOL_OPTIONS: '-Da=1\n-Db=2' } })).map((p) => p.path)).toEqual(['/env/JAVA_TOOL_OPTIONS']);
  });

  it('refuses relations a schema cannot state, under a prefix', () => {
    const problems = releaseSpecProblems(spec({ autoscaling: { min_replicas: 5, max_replicas: 2 }, analysis: { step_weight: 50, max_weight: 20 } }), '/spec');
    expect(problems.map((p) => p.path)).toEqual(['/spec/autoscaling/min_replicas', '/spec/analysis/step_weight']);
  });
});

describe('commands of any producer are held to the same rules', () => {
  const ref = { app_id: crypto.randomUUID(), app_name: 'orders', release_id: crypto.randomUUID(), version: 1, cluster_id: crypto.randomUUID() };
  const bytes = (value: unknown) => new TextEncoder().encode(JSON.stringify(value));

  it('dead-letters a build command whose env name the API would refuse, naming it', () => {
    const event = createCloudEvent(BuildCommandV1, { id: crypto.randomUUID(), source: '/other', data: { release: ref, spec: spec({ artifact_url: 'https://x.example/a.jar' }), then_deploy: true } });
    event.data.spec.env['A: b'] = 'x';
    expect(() => decodeCloudEvent(bytes(event), [BuildCommandV1])).toThrow(/\/spec\/env\/A: b/);
  });

  it('dead-letters a deploy command whose volumes clash (a rule no schema states)', () => {
    const volumes = [{ name: 'data', mount_path: '/data', size: '1Gi' }, { name: 'logs', mount_path: '/data', size: '1Gi' }];
    const event = createCloudEvent(DeployCommandV1, { id: crypto.randomUUID(), source: '/other', data: { release: ref, spec: spec({ volumes }), image: 'registry.example.com/orders:1', skip_analysis: false } });
    expect(() => decodeCloudEvent(bytes(event), [DeployCommandV1])).toThrow(/\/spec\/volumes\/1\/mount_path/);
    expect(() => encodeCloudEvent(DeployCommandV1, event)).toThrow(/does not match its schema/);
  });

  it('dead-letters a deploy command whose image is not an image reference', () => {
    const event = createCloudEvent(DeployCommandV1, { id: crypto.randomUUID(), source: '/other', data: { release: ref, spec: spec(), image: 'nginx:1; rm -rf /', skip_analysis: false } });
    expect(() => decodeCloudEvent(bytes(event), [DeployCommandV1])).toThrow(/\/image/);
  });
});
