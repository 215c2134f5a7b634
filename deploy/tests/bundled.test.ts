import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CHART, clusterTools, eventually, rolledOut, uniqueName, valuesFile, type DeploymentStatus } from './support.ts';

// The chart with its own NATS and Postgres (nats.enabled, postgresql.enabled): volumes bound, every workload
// ready (pods simulated), per-service NATS users, and generated passwords that survive an upgrade.
const t = clusterTools();
const namespace = uniqueName('bundled');
const release = uniqueName('asb');
const storageClass = `appserving-test-${namespace}`;
const values = {
  nats: { enabled: true, persistence: { storageClassName: storageClass, size: '1Gi' } },
  postgresql: { enabled: true, persistence: { storageClassName: storageClass, size: '1Gi' } },
  builder: { buildNamespace: { name: `${namespace}-builds`, create: true } },
  networkPolicy: { egress: { enabled: true } },
};

function persistentVolume(name: string): string {
  // Statically provisioned: the controller manager binds a claim of the same class; nothing is ever mounted
  // (kwok simulates the pods).
  return JSON.stringify({
    apiVersion: 'v1',
    kind: 'PersistentVolume',
    metadata: { name },
    spec: { storageClassName: storageClass, capacity: { storage: '1Gi' }, accessModes: ['ReadWriteOnce'], hostPath: { path: `/tmp/${name}` } },
  });
}

interface StatefulSet {
  metadata: { name: string };
  status?: { readyReplicas?: number; replicas?: number };
}

beforeAll(async () => {
  await t.kubectl('create', 'namespace', namespace);
  for (const pv of ['nats', 'pg']) await t.apply(persistentVolume(`${namespace}-${pv}`));
});

afterAll(async () => {
  await t.helmRaw('uninstall', release, '-n', namespace, '--wait', '--timeout=60s');
  await t.kubectlRaw(['delete', 'namespace', namespace, `${namespace}-builds`, '--wait=false']);
  await t.kubectlRaw(['delete', 'persistentvolume', `${namespace}-nats`, `${namespace}-pg`, '--wait=false']);
  t.cleanup();
});

const secretData = async (name: string) => {
  const secret = await t.kubectlJson<{ data: Record<string, string> }>('get', 'secret', name, '-n', namespace);
  return Object.fromEntries(Object.entries(secret.data).map(([k, v]) => [k, Buffer.from(v, 'base64').toString()]));
};

describe('NATS and Postgres installed with the chart', () => {
  it('installs: volumes bound, NATS and Postgres ready, every Deployment Available', async () => {
    await t.helm('install', release, CHART, '-n', namespace, '-f', valuesFile(values), '--wait', '--timeout=180s');
    const sets = await eventually(
      'both StatefulSets ready',
      async () => (await t.kubectlJson<{ items: StatefulSet[] }>('get', 'statefulsets', '-n', namespace)).items,
      (items) => items.length === 2 && items.every((s) => s.status?.readyReplicas === 1),
    );
    expect(sets.map((s) => s.metadata.name).sort()).toEqual([`${release}-nats`, `${release}-postgresql`]);
    const claims = await t.kubectlJson<{ items: { status: { phase: string } }[] }>('get', 'pvc', '-n', namespace);
    expect(claims.items.map((c) => c.status.phase)).toEqual(['Bound', 'Bound']);
    const deployments = await t.kubectlJson<{ items: DeploymentStatus[] }>('get', 'deployments', '-n', namespace);
    expect(deployments.items.filter(rolledOut)).toHaveLength(4);
  });

  it('gives each service its own NATS user, and the server only bcrypt hashes of their passwords', async () => {
    const config = (await secretData(`${release}-nats-config`))['nats.conf'] ?? '';
    for (const service of ['gateway', 'builder', 'deployer', 'watcher']) {
      const credentials = await secretData(`${release}-nats-${service}`);
      expect(credentials.user).toBe(service);
      expect(credentials.password).toMatch(/^[A-Za-z0-9]{40}$/);
      expect(config).toContain(`"user": "${service}"`);
      expect(config).not.toContain(credentials.password);
      expect(credentials.bcrypt).toMatch(/^\$2a\$/);
      expect(config).toContain(credentials.bcrypt);
    }
    const gateway = await t.kubectlJson<{ spec: { template: { spec: { containers: { env: { name: string; valueFrom?: { secretKeyRef?: { name: string } } }[] }[] } } } }>(
      'get', 'deployment', `${release}-appserving-gateway`, '-n', namespace,
    );
    const env = gateway.spec.template.spec.containers[0]?.env ?? [];
    expect(env.find((e) => e.name === 'APPSERVING_NATS_PASSWORD')?.valueFrom?.secretKeyRef?.name).toBe(`${release}-nats-gateway`);
    expect(env.find((e) => e.name === 'APPSERVING_DATABASE_URL')?.valueFrom?.secretKeyRef?.name).toBe(`${release}-appserving-database`);
    const database = await secretData(`${release}-appserving-database`);
    expect(database.url).toBe(`postgres://appserving:${database.password}@${release}-postgresql:5432/appserving`);
  });

  it('keeps every generated password across an upgrade', async () => {
    const names = [`${release}-appserving-database`, `${release}-appserving-secret-keys`, `${release}-appserving-admin-token`, ...['gateway', 'builder', 'deployer', 'watcher'].map((s) => `${release}-nats-${s}`)];
    const before = await Promise.all(names.map(secretData));
    const natsConfig = (await secretData(`${release}-nats-config`))['nats.conf'];
    await t.helm('upgrade', release, CHART, '-n', namespace, '-f', valuesFile(values), '-f', valuesFile({ config: { logLevel: 'debug' } }), '--wait', '--timeout=180s');
    expect(await Promise.all(names.map(secretData))).toEqual(before);
    // Same users, same hashes: the NATS server is not restarted by an unrelated upgrade.
    expect((await secretData(`${release}-nats-config`))['nats.conf']).toBe(natsConfig);
  });
});
