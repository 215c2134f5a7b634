import { describe, expect, it } from 'vitest';
import { parseProjectFile } from '../config/project-file.ts';
import { deriveAppName, mergeDeploySettings, parseDurationMs, parseResources, releaseBody, type DeployFlags } from './deploy-settings.ts';

const noFlags: DeployFlags = { env: [], envFile: [], config: [], secret: [], volume: [] };

describe('deriveAppName', () => {
  it.each([
    ['target/orders-service-1.4.2-SNAPSHOT.jar', 'orders-service'],
    ['build/libs/shop-0.0.1.war', 'shop'],
    ['petclinic.jar', 'petclinic'],
    ['/home/me/code/My_Flask_App/', 'my-flask-app'],
    ['registry.example.com/team/billing:1.2@sha256:abc', 'billing'],
    ['app-v2.jar', 'app'],
    ['2048-game.jar', 'game'],
  ])('%s → %s', (source, name) => expect(deriveAppName(source)).toBe(name));

  it('gives up on names that cannot become a DNS label', () => {
    expect(deriveAppName('1234.jar')).toBeUndefined();
    expect(deriveAppName('___.jar')).toBeUndefined();
  });

  it('keeps names within 40 characters', () => {
    expect(deriveAppName(`${'a'.repeat(60)}.jar`)).toHaveLength(40);
  });
});

describe('mergeDeploySettings: flags over the project file', () => {
  const file = parseProjectFile(
    'name: orders\nartifact: target/orders.jar\nstrategy: canary\nresources: { cpu: 500m, memory: 1Gi }\nport: 9090\nenv:\n  A: from-file\n  B: kept\nsecrets:\n  db: secrets/db.txt\n',
    '/project/appserve.yaml',
  );

  it('a second deploy needs nothing but the file', () => {
    const settings = mergeDeploySettings(noFlags, file, undefined, []);
    expect(settings).toMatchObject({
      name: 'orders',
      artifact: '/project/target/orders.jar',
      strategy: 'canary',
      resources: { cpu: '500m', memory: '1Gi' },
      port: 9090,
      env: { A: 'from-file', B: 'kept' },
      secrets: { db: '/project/secrets/db.txt' },
      taskType: 'all',
      wait: true,
      timeoutMs: 30 * 60_000,
    });
  });

  it('flags win; env from flags is added to the file\'s', () => {
    const settings = mergeDeploySettings({ ...noFlags, strategy: 'rolling', env: ['A=flag', 'C=new'], port: '8080', wait: false, timeout: '90s' }, file, '/elsewhere/other.jar', [{ D: 'env-file' }]);
    expect(settings).toMatchObject({ name: 'orders', artifact: '/elsewhere/other.jar', strategy: 'rolling', port: 8080, env: { A: 'flag', B: 'kept', C: 'new', D: 'env-file' }, wait: false, timeoutMs: 90_000 });
  });

  it('--image deploys an existing image (task deploy), not the file\'s artifact', () => {
    const settings = mergeDeploySettings({ ...noFlags, image: 'reg.example/orders:1.2' }, file, undefined, []);
    expect(settings).toMatchObject({ image: 'reg.example/orders:1.2', taskType: 'deploy' });
    expect(settings.artifact).toBeUndefined();
  });

  it('leaves env, config and secrets out when nothing sets them (an update keeps the app\'s)', () => {
    const settings = mergeDeploySettings(noFlags, undefined, '/x/app.jar', []);
    expect(settings.env).toBeUndefined();
    expect(settings.config).toBeUndefined();
    expect(settings.secrets).toBeUndefined();
  });

  it('secrets: NAME=PATH, NAME=- (stdin), NAME (prompt); config: PATH or NAME=PATH', () => {
    const settings = mergeDeploySettings({ ...noFlags, secret: ['a=./a.txt', 'b=-', 'c'], config: ['conf/application.yaml', 'logback.xml=conf/log.xml'] }, undefined, '/x/app.jar', []);
    expect(settings.secrets).toEqual({ a: './a.txt', b: '-', c: '?' });
    expect(settings.config).toEqual({ 'application.yaml': 'conf/application.yaml', 'logback.xml': 'conf/log.xml' });
  });

  it.each([
    [{}, undefined, 'nothing to deploy'],
    [{ image: 'x:1' }, '/a.jar', 'not both'],
    [{ name: 'Orders' }, '/a.jar', 'app name "Orders" is not valid'],
    [{ secret: ['a=-', 'b=-'] }, '/a.jar', 'only one secret can be read from stdin'],
    [{ env: ['1BAD=x'] }, '/a.jar', '"1BAD" is not an environment variable name'],
    [{ replicas: '101' }, '/a.jar', '--replicas must be a whole number from 0 to 100'],
    [{ port: '0' }, '/a.jar', '--port must be a whole number from 1 to 65535'],
    [{ healthPath: 'health' }, '/a.jar', '--health-path must start with /'],
    [{ buildOnly: true, image: 'x:1' }, undefined, '--build-only builds an artifact'],
    [{ secret: ['bad/name=x'] }, '/a.jar', '"bad/name" is not a valid file name'],
  ] as const)('refuses %j', (flags, artifact, message) => {
    expect(() => mergeDeploySettings({ ...noFlags, ...flags } as DeployFlags, undefined, artifact, [])).toThrow(message);
  });
});

describe('volumes, build method, analysis and autoscaling', () => {
  it('flags for volumes and the build method; the file for analysis and autoscaling, passed to the API as they are', () => {
    const file = parseProjectFile(
      'name: shop\nartifact: shop.war\nstrategy: blue-green\nanalysis:\n  interval_seconds: 10\n  iterations: 2\nautoscaling: { min_replicas: 2, max_replicas: 5 }\nvolumes:\n  - { name: cache, mount_path: /cache, size: 500Mi }\n',
      '/p/appserve.yaml',
    );
    const fromFile = mergeDeploySettings(noFlags, file, undefined, []);
    expect(releaseBody(fromFile, {}, false)).toMatchObject({
      analysis: { interval_seconds: 10, iterations: 2 },
      autoscaling: { min_replicas: 2, max_replicas: 5 },
      volumes: [{ name: 'cache', mount_path: '/cache', size: '500Mi' }],
    });
    const fromFlags = mergeDeploySettings({ ...noFlags, volume: ['data:/var/lib/app:1Gi'], buildMethod: 'kaniko' }, file, undefined, []);
    expect(releaseBody(fromFlags, {}, false)).toMatchObject({ volumes: [{ name: 'data', mount_path: '/var/lib/app', size: '1Gi' }], build_method: 'kaniko' });
    expect(() => mergeDeploySettings({ ...noFlags, volume: ['data:relative:1Gi'] }, file, undefined, [])).toThrow('--volume takes NAME:MOUNT_PATH:SIZE');
    expect(() => parseProjectFile('volumes:\n  - { name: x }\n', '/p/appserve.yaml')).toThrow('/p/appserve.yaml:1: volumes entry 1 must be { name, mount_path, size }');
  });
});

describe('parsing', () => {
  it('resources', () => {
    expect(parseResources('medium')).toBe('medium');
    expect(parseResources('cpu=250m,memory=512Mi')).toEqual({ cpu: '250m', memory: '512Mi' });
    expect(() => parseResources('cpu=lots')).toThrow('--resources must be');
  });

  it('durations', () => {
    expect(parseDurationMs('500ms', '--timeout')).toBe(500);
    expect(parseDurationMs('90', '--timeout')).toBe(90_000);
    expect(parseDurationMs('15m', '--timeout')).toBe(900_000);
    expect(parseDurationMs('1.5h', '--timeout')).toBe(5_400_000);
    expect(() => parseDurationMs('0s', '--timeout')).toThrow('longer than 0');
    expect(() => parseDurationMs('soon', '--timeout')).toThrow('like 90s');
  });
});

describe('releaseBody', () => {
  const settings = mergeDeploySettings({ ...noFlags, name: 'orders', cluster: 'prod', project: 'team-a', appVersion: '1.4.2', replicas: '0', env: ['A=1'] }, undefined, '/x/app.jar', []);

  it('a create names the app, its cluster and project; an update does not', () => {
    const inputs = { artifactUrl: 'appserving-artifact://sha256/' + 'a'.repeat(64), artifactSha256: 'a'.repeat(64), appType: 'jar' as const, secrets: { s: 'v' } };
    expect(releaseBody(settings, inputs, true)).toEqual({
      name: 'orders',
      target_cluster_id: 'prod',
      project: 'team-a',
      task_type: 'all',
      version: '1.4.2',
      app_type: 'jar',
      artifact_url: inputs.artifactUrl,
      artifact_sha256: inputs.artifactSha256,
      env: { A: '1' },
      secrets: { s: 'v' },
      replicas: 0,
    });
    const update = releaseBody(settings, inputs, false);
    expect(update).not.toHaveProperty('name');
    expect(update).not.toHaveProperty('target_cluster_id');
    expect(update).not.toHaveProperty('project');
  });
});
