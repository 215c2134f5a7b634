import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createNamespace, deleteNamespace, kube } from './helpers.ts';

const k = kube();
const chart = join(import.meta.dirname, 'fixtures', 'demo-chart');
const home = mkdtempSync(join(tmpdir(), 'helm-home-'));
let ns: string;

/** The real helm CLI built for this cluster, with its cache/config/data kept out of $HOME. */
async function helm(...args: string[]): Promise<string> {
  const { stdout } = await promisify(execFile)(k.cluster.helmBinary, [...args, `--kubeconfig=${k.cluster.kubeconfigPath}`], {
    env: { ...process.env, HELM_CACHE_HOME: join(home, 'cache'), HELM_CONFIG_HOME: join(home, 'config'), HELM_DATA_HOME: join(home, 'data') },
  });
  return stdout;
}

beforeAll(async () => {
  ns = await createNamespace(k, 'helm');
});
afterAll(async () => {
  await deleteNamespace(k, ns);
  rmSync(home, { recursive: true, force: true });
});

describe('helm', () => {
  it('upgrade --install installs, then upgrades, and history lists both revisions', async () => {
    await helm('upgrade', '--install', 'demo', chart, '-n', ns, '--wait', '--timeout=60s');
    const installed = await k.apps.readNamespacedDeployment({ name: 'demo', namespace: ns });
    expect(installed.spec?.template.spec?.containers[0]?.image).toBe('registry.invalid/demo:1');
    expect(installed.status?.availableReplicas).toBe(2);

    await helm('upgrade', '--install', 'demo', chart, '-n', ns, '--wait', '--timeout=60s', '--set', 'image.tag=2');
    const upgraded = await k.apps.readNamespacedDeployment({ name: 'demo', namespace: ns });
    expect(upgraded.spec?.template.spec?.containers[0]?.image).toBe('registry.invalid/demo:2');
    expect(upgraded.status?.updatedReplicas).toBe(2);
    expect(upgraded.status?.availableReplicas).toBe(2);

    const history = JSON.parse(await helm('history', 'demo', '-n', ns, '-o', 'json')) as { revision: number; status: string; chart: string }[];
    expect(history.map((h) => [h.revision, h.status, h.chart])).toEqual([
      [1, 'superseded', 'demo-0.1.0'],
      [2, 'deployed', 'demo-0.1.0'],
    ]);
  });

  it('pushes the chart to the local OCI registry and reads it back', async () => {
    const out = mkdtempSync(join(tmpdir(), 'chart-'));
    try {
      await helm('package', chart, '-d', out);
      const pushed = await promisify(execFile)(k.cluster.helmBinary, ['push', join(out, 'demo-0.1.0.tgz'), `oci://${k.cluster.registryHost}/charts`, '--plain-http'], {
        env: { ...process.env, HELM_CACHE_HOME: join(home, 'cache'), HELM_CONFIG_HOME: join(home, 'config'), HELM_DATA_HOME: join(home, 'data') },
      });
      expect(pushed.stdout + pushed.stderr).toMatch(/Digest: sha256:[0-9a-f]{64}/);
      const shown = await helm('show', 'chart', `oci://${k.cluster.registryHost}/charts/demo`, '--version', '0.1.0', '--plain-http');
      expect(shown).toContain('name: demo');
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  });
});
