import { describe, expect, it } from 'vitest';
import { cacheKey, imageRepository, mirrorRepository, planBuild } from './build-plan.ts';

const spec = { port: 8080, resource_spec: 'small' as const, strategy: 'rolling' as const, env: {}, config: {}, secret_names: [], volumes: [], replicas: 1, artifact_url: 'https://x/app.jar' };
const defaults = { defaultMethod: 'direct' as const, baseImages: { jar: 'temurin', war: 'tomcat', python: 'python' } };

describe('build plan', () => {
  it('jar and war follow the default method or their release\'s build_method; python is always kaniko', () => {
    expect(planBuild({ ...spec, app_type: 'jar' }, defaults)).toMatchObject({ method: 'direct', template: 'direct-jar@1', baseImage: 'temurin' });
    expect(planBuild({ ...spec, app_type: 'war', build_method: 'kaniko' }, defaults)).toMatchObject({ method: 'kaniko', template: 'kaniko-war@1' });
    expect(planBuild({ ...spec, app_type: 'python' }, defaults)).toMatchObject({ method: 'kaniko', template: 'kaniko-python@1' });
    expect(() => planBuild({ ...spec, app_type: 'python', build_method: 'direct' }, defaults)).toThrow(/for jar and war apps/);
    expect(() => planBuild({ ...spec }, defaults)).toThrow(/no app_type/);
  });

  it('the cache key changes with the artifact, the base image, the template, the port and the platform, and only with them', () => {
    const parts = { artifactSha256: 'a'.repeat(64), baseDigest: `sha256:${'b'.repeat(64)}`, template: 'direct-jar@1', port: 8080, platform: 'linux/amd64' };
    const key = cacheKey(parts);
    expect(key).toMatch(/^[0-9a-f]{40}$/);
    expect(cacheKey({ ...parts })).toBe(key);
    for (const change of [{ artifactSha256: 'c'.repeat(64) }, { baseDigest: `sha256:${'d'.repeat(64)}` }, { template: 'direct-jar@2' }, { port: 9090 }, { platform: 'linux/arm64' }]) {
      expect(cacheKey({ ...parts, ...change })).not.toBe(key);
    }
  });

  it('images go to <registry>/<namespace>/<app>; base copies to a mirror repository beside them', () => {
    expect(imageRepository('harbor.example.com/appserving', 'team-a', 'orders')).toEqual({ host: 'harbor.example.com', repository: 'appserving/team-a/orders' });
    expect(imageRepository('127.0.0.1:26408', 'default', 'orders')).toEqual({ host: '127.0.0.1:26408', repository: 'default/orders' });
    expect(mirrorRepository('harbor.example.com/appserving/', 'library/tomcat')).toBe('appserving/appserving-base-mirror/library/tomcat');
  });
});
