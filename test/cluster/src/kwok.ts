import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { goModuleDir } from './go-modules.ts';
import { packageDir } from './versions.ts';

/** kwok's own stage files used as they are, read from the kwok module in the Go module cache at setup. */
const UPSTREAM_STAGES = [
  'kustomize/stage/node/fast/node-initialize.yaml',
  'kustomize/stage/node/heartbeat-with-lease/node-heartbeat-with-lease.yaml',
  'kustomize/stage/pod/fast/pod-delete.yaml',
];

/** Our pod stages (the `sim.appserving.dev/*` behaviours); see kwok/pod-stages.yaml. */
export const POD_STAGES_FILE = join(packageDir, 'kwok', 'pod-stages.yaml');

/** Writes kwok's --config: upstream node/delete stages plus AppServing's pod stages. */
export function writeKwokConfig(path: string, kwokVersion: string): void {
  const moduleDir = goModuleDir('sigs.k8s.io/kwok', kwokVersion);
  const docs = UPSTREAM_STAGES.map((file) => readFileSync(join(moduleDir, file), 'utf8'));
  docs.push(readFileSync(POD_STAGES_FILE, 'utf8'));
  writeFileSync(path, docs.map((d) => d.trim()).join('\n---\n') + '\n');
}

/** kwok's Logs/ClusterLogs CRDs (kwok serves them but does not install them), from the module cache. */
export const KWOK_CRD_NAMES = ['logs.kwok.x-k8s.io', 'clusterlogs.kwok.x-k8s.io'];
export function kwokCrdFiles(kwokVersion: string): string[] {
  const dir = join(goModuleDir('sigs.k8s.io/kwok', kwokVersion), 'kustomize', 'crd', 'bases');
  return ['kwok.x-k8s.io_logs.yaml', 'kwok.x-k8s.io_clusterlogs.yaml'].map((f) => join(dir, f));
}

export const NODE_NAME = 'kwok-node-0';

/** The simulated node: addressed 127.0.0.1, big enough for every test, but finite so "does not fit" is testable. */
export function nodeManifest(): Record<string, unknown> {
  return {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: {
      name: NODE_NAME,
      annotations: { 'kwok.x-k8s.io/node': 'fake', 'node.alpha.kubernetes.io/ttl': '0' },
      labels: {
        'kubernetes.io/hostname': NODE_NAME,
        'kubernetes.io/os': 'linux',
        'kubernetes.io/arch': 'amd64',
        'node-role.kubernetes.io/worker': '',
        type: 'kwok',
      },
    },
    status: {
      addresses: [{ type: 'InternalIP', address: '127.0.0.1' }],
      allocatable: { cpu: '32', memory: '128Gi', pods: '250', 'ephemeral-storage': '500Gi' },
      capacity: { cpu: '32', memory: '128Gi', pods: '250', 'ephemeral-storage': '500Gi' },
    },
  };
}
