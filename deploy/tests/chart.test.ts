import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CHART, clusterTools, databaseSecret, eventually, externalValues, rolledOut, SERVICES, uniqueName, valuesFile, type DeploymentStatus } from './support.ts';

const t = clusterTools();
const namespace = uniqueName('chart');
const release = uniqueName('as');
const fullname = `${release}-appserving`;
const buildNamespace = `${namespace}-builds`;
const values = externalValues({ builder: { buildNamespace: { name: buildNamespace, create: true } } });

async function deployments(): Promise<DeploymentStatus[]> {
  const list = await t.kubectlJson<{ items: DeploymentStatus[] }>('get', 'deployments', '-n', namespace, '-l', `app.kubernetes.io/instance=${release}`);
  return list.items;
}

beforeAll(async () => {
  await t.kubectl('create', 'namespace', namespace);
  await t.apply(databaseSecret(namespace));
});

afterAll(async () => {
  await t.helmRaw('uninstall', release, '-n', namespace, '--wait', '--timeout=60s');
  await t.kubectlRaw(['delete', 'namespace', namespace, buildNamespace, '--wait=false']);
  t.cleanup();
});

describe('chart checks', () => {
  it('helm lint passes with each CI values file', async () => {
    const files = readdirSync(join(CHART, 'ci')).filter((f) => f.endsWith('-values.yaml'));
    expect(files.length).toBeGreaterThanOrEqual(2);
    for (const file of files) {
      const out = await t.helm('lint', CHART, '--strict', '-f', join(CHART, 'ci', file));
      expect(out).toContain('1 chart(s) linted, 0 chart(s) failed');
    }
  });

  it.each([
    ['a negative replica count', { gateway: { replicas: -1 } }, "at '/gateway/replicas': minimum: got -1"],
    ['a misspelt key', { gateway: { replica: 2 } }, "at '/gateway': additional properties 'replica' not allowed"],
    ['an unknown log level', { config: { logLevel: 'verbose' } }, "at '/config/logLevel': value must be one of"],
    ['an unknown NATS auth kind', { externalNats: { auth: 'token' } }, "at '/externalNats/auth': value must be one of"],
    ['a setting that is not an APPSERVING_ variable', { builder: { env: { FOO: '1' } } }, "'FOO' does not match pattern '^APPSERVING_[A-Z0-9_]+$'"],
    ['a memory request that is no quantity', { watcher: { resources: { requests: { memory: 'lots' } } } }, "at '/watcher/resources/requests/memory'"],
    ['an image digest that is no sha256', { image: { digests: { gateway: 'latest' } } }, "at '/image/digests/gateway'"],
  ])('the schema refuses %s, naming it', async (_what, bad, message) => {
    const result = await t.helmRaw('template', release, CHART, '--kube-version=1.36.0', '-f', valuesFile(values), '-f', valuesFile(bad));
    expect(result.code).not.toBe(0);
    expect(result.stderr).toContain("values don't meet the specifications of the schema");
    expect(result.stderr).toContain(message);
  });

  it('refuses to render without a database, naming the value to set', async () => {
    const result = await t.helmRaw('template', release, CHART, '--kube-version=1.36.0', '-f', valuesFile({ externalNats: { url: 'nats://n:4222' } }));
    expect(result.code).not.toBe(0);
    expect(result.stderr).toContain('externalDatabase.existingSecret is required unless postgresql.enabled');
  });
});

describe('install, access and upgrade on the local cluster', () => {
  it('installs, and every Deployment becomes Available', async () => {
    await t.helm('install', release, CHART, '-n', namespace, '-f', valuesFile(values), '--wait', '--timeout=180s');
    const ready = await eventually('four Deployments rolled out', deployments, (ds) => ds.length === 4 && ds.every(rolledOut), 120_000);
    expect(ready.map((d) => d.metadata.name).sort()).toEqual(SERVICES.map((s) => `${fullname}-${s}`).sort());
    expect(ready.find((d) => d.metadata.name === `${fullname}-gateway`)?.spec.replicas).toBe(2);
    for (const kind of ['poddisruptionbudget', 'networkpolicy', 'serviceaccount', 'service']) {
      const list = await t.kubectlJson<{ items: unknown[] }>('get', kind, '-n', namespace, '-l', `app.kubernetes.io/instance=${release}`);
      expect(list.items, kind).toHaveLength(4);
    }
    // The cluster has Flagger's CRDs: the shared MetricTemplates are there.
    const templates = await t.kubectlJson<{ items: { metadata: { name: string } }[] }>('get', 'metrictemplates.flagger.app', '-n', namespace);
    expect(templates.items.map((m) => m.metadata.name).sort()).toEqual(['appserving-latency-p99', 'appserving-success-rate']);
  });

  it('generates the admin token and the encryption key in the formats the services accept', async () => {
    const token = await t.kubectl('get', 'secret', `${fullname}-admin-token`, '-n', namespace, '-o', 'jsonpath={.data.token}');
    expect(Buffer.from(token, 'base64').toString()).toMatch(/^[A-Za-z0-9]{48}$/);
    const keys = await t.kubectl('get', 'secret', `${fullname}-secret-keys`, '-n', namespace, '-o', 'jsonpath={.data.keys}');
    // The format APPSERVING_SECRET_KEYS accepts: keyId:base64(32 bytes).
    expect(Buffer.from(keys, 'base64').toString()).toMatch(/^[0-9]{4}-[0-9]{2}:[A-Za-z0-9+/]{43}=$/);
  });

  const sa = (service: string) => ({ namespace, name: `${fullname}-${service}` });

  it('the gateway has no Kubernetes access at all, and no token mounted', async () => {
    for (const [verb, resource] of [['get', 'secrets'], ['list', 'secrets'], ['get', 'pods'], ['create', 'deployments'], ['list', 'configmaps']] as const) {
      expect(await t.canI(sa('gateway'), verb, resource, namespace), `${verb} ${resource} in its namespace`).toBe(false);
      expect(await t.canI(sa('gateway'), verb, resource), `${verb} ${resource} anywhere`).toBe(false);
    }
    const gateway = (await deployments()).find((d) => d.metadata.name === `${fullname}-gateway`);
    expect((gateway?.spec.template.spec as { automountServiceAccountToken?: boolean }).automountServiceAccountToken).toBe(false);
  });

  it('the builder manages build Pods and their files in the build namespace only', async () => {
    const allowed = [['create', 'pods'], ['get', 'pods'], ['list', 'pods'], ['watch', 'pods'], ['delete', 'pods'], ['get', 'pods/log'], ['list', 'events'], ['create', 'configmaps'], ['create', 'secrets'], ['delete', 'secrets']] as const;
    for (const [verb, resource] of allowed) expect(await t.canI(sa('builder'), verb, resource, buildNamespace), `${verb} ${resource}`).toBe(true);
    expect(await t.canI(sa('builder'), 'get', 'namespaces', undefined, buildNamespace)).toBe(true);
    expect(await t.canI(sa('builder'), 'get', 'namespaces', undefined, 'kube-system')).toBe(false);
    // The chart creates the build namespace, so the builder may not create namespaces.
    expect(await t.canI(sa('builder'), 'create', 'namespaces')).toBe(false);
    expect(await t.canI(sa('builder'), 'list', 'secrets', buildNamespace)).toBe(false);
    expect(await t.canI(sa('builder'), 'update', 'secrets', buildNamespace)).toBe(false);
    for (const ns of [namespace, 'default']) {
      for (const [verb, resource] of [['create', 'pods'], ['get', 'secrets'], ['create', 'secrets'], ['get', 'pods/log']] as const) {
        expect(await t.canI(sa('builder'), verb, resource, ns), `${verb} ${resource} in ${ns}`).toBe(false);
      }
    }
    expect(await t.canI(sa('builder'), 'create', 'pods/exec', buildNamespace)).toBe(false);
    expect(await t.canI(sa('builder'), 'create', 'deployments.apps', buildNamespace)).toBe(false);
  });

  it('the deployer applies what an app chart contains, and helm release Secrets', async () => {
    const appNs = 'default';
    const write = ['get', 'list', 'watch', 'create', 'update', 'patch', 'delete'];
    const kinds = ['deployments.apps', 'services', 'configmaps', 'secrets', 'persistentvolumeclaims', 'horizontalpodautoscalers.autoscaling', 'ingresses.networking.k8s.io', 'httproutes.gateway.networking.k8s.io', 'canaries.flagger.app', 'metrictemplates.flagger.app'];
    for (const kind of kinds) {
      for (const verb of write) expect(await t.canI(sa('deployer'), verb, kind, appNs), `${verb} ${kind}`).toBe(true);
    }
    for (const kind of ['pods', 'replicasets.apps', 'events']) expect(await t.canI(sa('deployer'), 'list', kind, appNs), `list ${kind}`).toBe(true);
    // What an app leaves behind is deleted with it; Pods and ReplicaSets are never created or changed directly.
    for (const kind of ['pods', 'replicasets.apps']) expect(await t.canI(sa('deployer'), 'delete', kind, appNs), `delete ${kind}`).toBe(true);
    for (const verb of ['create', 'patch']) expect(await t.canI(sa('deployer'), verb, 'replicasets.apps', appNs), `${verb} replicasets`).toBe(false);
    expect(await t.canI(sa('deployer'), 'create', 'namespaces')).toBe(true);
    expect(await t.canI(sa('deployer'), 'get', 'namespaces')).toBe(true);
    for (const verb of ['update', 'patch', 'delete']) expect(await t.canI(sa('deployer'), verb, 'namespaces'), `${verb} namespaces`).toBe(false);
    for (const [verb, resource] of [['create', 'pods'], ['patch', 'pods'], ['create', 'pods/exec'], ['create', 'serviceaccounts'], ['create', 'serviceaccounts/token'], ['create', 'roles.rbac.authorization.k8s.io'], ['create', 'rolebindings.rbac.authorization.k8s.io'], ['create', 'jobs.batch'], ['create', 'daemonsets.apps'], ['patch', 'nodes']] as const) {
      expect(await t.canI(sa('deployer'), verb, resource, appNs), `${verb} ${resource}`).toBe(false);
    }
  });

  it('the watcher only reads workloads, Pods, their logs, Events and Canaries, never Secrets', async () => {
    for (const [verb, resource] of [['list', 'deployments.apps'], ['watch', 'replicasets.apps'], ['list', 'pods'], ['watch', 'pods'], ['get', 'pods/log'], ['list', 'events'], ['watch', 'events.events.k8s.io'], ['watch', 'canaries.flagger.app']] as const) {
      expect(await t.canI(sa('watcher'), verb, resource, 'default'), `${verb} ${resource}`).toBe(true);
    }
    for (const [verb, resource] of [['get', 'secrets'], ['list', 'secrets'], ['create', 'deployments.apps'], ['patch', 'deployments.apps'], ['delete', 'pods'], ['update', 'canaries.flagger.app'], ['get', 'configmaps']] as const) {
      expect(await t.canI(sa('watcher'), verb, resource, 'default'), `${verb} ${resource}`).toBe(false);
    }
  });

  it('no account can escalate, bind, impersonate or touch RBAC objects', async () => {
    const forbidden = [
      ['escalate', 'roles.rbac.authorization.k8s.io'],
      ['escalate', 'clusterroles.rbac.authorization.k8s.io'],
      ['bind', 'roles.rbac.authorization.k8s.io'],
      ['bind', 'clusterroles.rbac.authorization.k8s.io'],
      ['impersonate', 'users'],
      ['impersonate', 'groups'],
      ['impersonate', 'serviceaccounts'],
      ['create', 'rolebindings.rbac.authorization.k8s.io'],
      ['create', 'clusterrolebindings.rbac.authorization.k8s.io'],
      ['update', 'clusterroles.rbac.authorization.k8s.io'],
      ['create', 'serviceaccounts/token'],
      ['create', 'certificatesigningrequests.certificates.k8s.io'],
      ['*', '*'],
    ] as const;
    for (const service of SERVICES) {
      for (const [verb, resource] of forbidden) {
        expect(await t.canI(sa(service), verb, resource), `${service}: ${verb} ${resource} cluster-wide`).toBe(false);
        for (const ns of [namespace, buildNamespace, 'default', 'kube-system']) {
          expect(await t.canI(sa(service), verb, resource, ns), `${service}: ${verb} ${resource} in ${ns}`).toBe(false);
        }
      }
    }
  });

  it('kubectl auth can-i --as each account agrees', async () => {
    const questions = [
      ['gateway', 'get', 'secrets', namespace, false],
      ['builder', 'create', 'pods', buildNamespace, true],
      ['builder', 'create', 'pods/exec', buildNamespace, false],
      ['deployer', 'create', 'secrets', 'default', true],
      ['deployer', 'bind', 'clusterroles.rbac.authorization.k8s.io', undefined, false],
      ['watcher', 'get', 'pods/log', 'default', true],
      ['watcher', 'impersonate', 'serviceaccounts', 'default', false],
      ['watcher', 'escalate', 'roles.rbac.authorization.k8s.io', 'default', false],
    ] as const;
    for (const [service, verb, resource, ns, expected] of questions) {
      expect(await t.kubectlCanI(sa(service), verb, resource, ns), `${service}: ${verb} ${resource}`).toBe(expected);
    }
  });

  it('an upgrade with changed settings rolls every Deployment to a new ReplicaSet', async () => {
    const before = await deployments();
    const secretValue = (name: string, key: string) => t.kubectl('get', 'secret', `${fullname}-${name}`, '-n', namespace, '-o', `jsonpath={.data.${key}}`);
    const tokenBefore = await secretValue('admin-token', 'token');
    const keysBefore = await secretValue('secret-keys', 'keys');
    const templateHash = async (name: string) => {
      const rs = await t.kubectlJson<{ items: { metadata: { name: string; labels: Record<string, string>; ownerReferences?: { name: string }[] }; status: { replicas: number } }[] }>(
        'get', 'replicasets', '-n', namespace, '-l', `app.kubernetes.io/instance=${release}`,
      );
      return rs.items.filter((r) => r.metadata.ownerReferences?.some((o) => o.name === name));
    };
    const oldReplicaSets = new Map(await Promise.all(before.map(async (d) => [d.metadata.name, (await templateHash(d.metadata.name)).map((r) => r.metadata.name)] as const)));

    await t.helm('upgrade', release, CHART, '-n', namespace, '-f', valuesFile(values), '-f', valuesFile({ config: { logLevel: 'debug' }, image: { tag: '0.1.1' } }), '--wait', '--timeout=180s');
    const after = await eventually('four Deployments rolled out again', deployments, (ds) => ds.length === 4 && ds.every(rolledOut) && ds.every((d) => d.spec.template.spec.containers[0]?.image.endsWith(':0.1.1')), 120_000);

    for (const d of after) {
      const old = before.find((b) => b.metadata.name === d.metadata.name);
      expect(d.metadata.generation, d.metadata.name).toBeGreaterThan(old?.metadata.generation ?? 0);
      expect(d.spec.template.metadata.annotations?.['checksum/config']).not.toBe(old?.spec.template.metadata.annotations?.['checksum/config']);
      const replicaSets = await templateHash(d.metadata.name);
      const fresh = replicaSets.filter((r) => !(oldReplicaSets.get(d.metadata.name) ?? []).includes(r.metadata.name));
      expect(fresh, `${d.metadata.name}: a new ReplicaSet`).toHaveLength(1);
      expect(fresh[0]?.status.replicas, `${d.metadata.name}: the new ReplicaSet runs every replica`).toBe(d.spec.replicas);
    }
    // Generated secrets survive the upgrade unchanged (read back from the cluster, not generated again).
    expect(await secretValue('admin-token', 'token')).toBe(tokenBefore);
    expect(await secretValue('secret-keys', 'keys')).toBe(keysBefore);
    const history = JSON.parse(await t.helm('history', release, '-n', namespace, '-o', 'json')) as { revision: number; status: string }[];
    expect(history.map((h) => h.status)).toEqual(['superseded', 'deployed']);
  });
});
