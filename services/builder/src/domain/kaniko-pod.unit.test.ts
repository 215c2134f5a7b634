import { describe, expect, it } from 'vitest';
import { buildSecret, dockerConfigJson, kanikoPod, type KanikoBuildInput } from './kaniko-pod.ts';

const input: KanikoBuildInput = {
  ref: { app_id: '11111111-1111-4111-8111-111111111111', app_name: 'orders', release_id: '22222222-2222-4222-8222-222222222222', version: 3, cluster_id: '33333333-3333-4333-8333-333333333333' },
  namespace: 'appserving-builds',
  appType: 'python',
  destinations: ['registry.example.com/apps/team/orders:v3', 'registry.example.com/apps/team/orders:cache-abc'],
  cacheKey: 'abc',
  dockerfile: 'FROM x\n',
  launcher: 'print(1)\n',
  artifactUrl: 'https://builder.example/build-artifacts/r/s',
  fetchToken: 'secret-token',
  maxArtifactBytes: 1000,
  kanikoImage: 'kaniko:1',
  fetchImage: 'curl:1',
  insecureRegistries: [],
  timeoutMs: 90_500,
  cpu: '2',
  memory: '4Gi',
  extraLabels: { 'app.kubernetes.io/managed-by': 'someone-else', team: 'a' },
  extraAnnotations: {},
};

describe('Kaniko build Pod', () => {
  it('the platform\'s labels win over extra ones; the deadline is the timeout rounded up', () => {
    const pod = kanikoPod(input);
    expect(pod.metadata?.name).toBe('build-22222222-2222-4222-8222-222222222222');
    expect(pod.metadata?.labels).toMatchObject({ 'app.kubernetes.io/managed-by': 'appserving', team: 'a', 'appserving.dev/release-version': '3' });
    expect(pod.spec?.activeDeadlineSeconds).toBe(91);
  });

  it('the token never appears in the Pod, only in the Secret; no credentials when none are held', () => {
    const pod = kanikoPod(input);
    expect(JSON.stringify(pod)).not.toContain('secret-token');
    expect(buildSecret(input).stringData).toEqual({ 'fetch-header': 'Authorization: Bearer secret-token' });
    expect(pod.spec?.volumes?.map((v) => v.name)).toEqual(['workspace', 'build-files', 'fetch']);
  });

  it('python: the launcher is mounted into the context by subPath', () => {
    const mounts = kanikoPod(input).spec?.containers[0]?.volumeMounts;
    expect(mounts).toContainEqual({ name: 'build-files', mountPath: '/workspace/appserving-launch.py', subPath: 'appserving-launch.py', readOnly: true });
    const jar = kanikoPod({ ...input, appType: 'jar', launcher: undefined }).spec?.containers[0]?.volumeMounts;
    expect(jar?.some((m) => m.subPath)).toBe(false);
  });

  it('push credentials: the builder\'s own in the build Secret, or the operator\'s dockerconfigjson Secret', () => {
    const own = { ...input, dockerConfigJson: dockerConfigJson('registry.example.com', 'robot', 'pw') };
    expect(kanikoPod(own).spec?.volumes).toContainEqual({ name: 'docker-config', secret: { secretName: 'build-22222222-2222-4222-8222-222222222222', items: [{ key: 'config.json', path: 'config.json' }] } });
    expect(JSON.parse(buildSecret(own).stringData?.['config.json'] ?? '{}')).toEqual({ auths: { 'registry.example.com': { auth: Buffer.from('robot:pw').toString('base64') } } });
    const operator = { ...own, registrySecretName: 'harbor-push' };
    expect(kanikoPod(operator).spec?.volumes).toContainEqual({ name: 'docker-config', secret: { secretName: 'harbor-push', items: [{ key: '.dockerconfigjson', path: 'config.json' }] } });
    expect(buildSecret(operator).stringData?.['config.json']).toBeUndefined();
  });

  it("runs where the cluster's placement says, and pulls the registry's base images through the name the Pod reaches it by", () => {
    const placed = kanikoPod({
      ...input,
      placement: { nodeSelector: { 'appserving.dev/node': 'real' }, tolerations: [{ key: 'appserving.dev/node', operator: 'Equal', value: 'real', effect: 'NoSchedule' }] },
      registryMap: { from: '127.0.0.1:26408', to: '100.66.8.1:26408' },
    });
    expect(placed.spec?.nodeSelector).toEqual({ 'appserving.dev/node': 'real' });
    expect(placed.spec?.tolerations).toEqual([{ key: 'appserving.dev/node', operator: 'Equal', value: 'real', effect: 'NoSchedule' }]);
    expect(placed.spec?.containers[0]?.args).toContain('--registry-map=127.0.0.1:26408=100.66.8.1:26408');
    const plain = kanikoPod({ ...input, placement: { nodeSelector: {}, tolerations: [] } });
    expect(plain.spec?.nodeSelector).toBeUndefined();
    expect(plain.spec?.tolerations).toBeUndefined();
    expect(plain.spec?.containers[0]?.args?.some((a) => a.startsWith('--registry-map'))).toBe(false);
  });
});
