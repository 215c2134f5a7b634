import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { copyFileSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CoreV1Api, KubeConfig, type V1Toleration } from '@kubernetes/client-node';
import { freePort } from '@appserving/shared/testing';
import type { ClusterInfo } from '@appserving/test-cluster';
import { writeKwokConfig } from '../../../../test/cluster/src/kwok.ts';
import { binaryPaths } from '../../../../test/cluster/src/versions.ts';

/**
 * A simulated node of our own on the shared local cluster, run by a kwok process this test starts and stops,
 * with the pod stages of this working tree (test/cluster/kwok/pod-stages.yaml). The shared cluster's kwok read
 * its stages when it started and may predate a stage (e.g. `unready`); pods placed here behave exactly as the
 * file in the tree says. The node is tainted, so only pods that ask for it (`placement`) land on it.
 */
export interface SimNode {
  readonly name: string;
  /** Add to a pod spec: nodeSelector and toleration for this node. */
  readonly placement: { nodeSelector: Record<string, string>; tolerations: V1Toleration[] };
  stop(): Promise<void>;
}

const NODE_LABEL = 'appserving.dev/sim-node';

export async function startSimNode(cluster: ClusterInfo, options: { pods?: number; cpu?: string; memory?: string; cidr?: string } = {}): Promise<SimNode> {
  const name = `sim-${randomBytes(3).toString('hex')}`;
  const dir = mkdtempSync(join(tmpdir(), `appserving-${name}-`));
  const kubeconfigPath = join(dir, 'kubeconfig.yaml');
  copyFileSync(cluster.kubeconfigPath, kubeconfigPath);
  const configPath = join(dir, 'kwok.yaml');
  writeKwokConfig(configPath, cluster.versions.KWOK_VERSION);
  const port = await freePort();
  const kc = new KubeConfig();
  kc.loadFromFile(kubeconfigPath);
  const core = kc.makeApiClient(CoreV1Api);
  const pods = String(options.pods ?? 110);
  await core.createNode({
    body: {
      metadata: {
        name,
        annotations: { 'kwok.x-k8s.io/node': name, 'node.alpha.kubernetes.io/ttl': '0' },
        labels: { 'kubernetes.io/hostname': name, 'kubernetes.io/os': 'linux', 'kubernetes.io/arch': 'amd64', type: 'kwok', [NODE_LABEL]: name },
      },
      spec: { taints: [{ key: NODE_LABEL, value: name, effect: 'NoSchedule' }] },
      status: {
        addresses: [{ type: 'InternalIP', address: '127.0.0.1' }],
        allocatable: { cpu: options.cpu ?? '32', memory: options.memory ?? '128Gi', pods, 'ephemeral-storage': '500Gi' },
        capacity: { cpu: options.cpu ?? '32', memory: options.memory ?? '128Gi', pods, 'ephemeral-storage': '500Gi' },
      },
    },
  });
  const logFile = join(dir, 'kwok.log');
  const out = openSync(logFile, 'a');
  const kwokBinary = binaryPaths(cluster.versions).kwok;
  const child: ChildProcess = spawn(
    kwokBinary,
    [
      `--kubeconfig=${kubeconfigPath}`,
      `--config=${configPath}`,
      '--manage-all-nodes=false',
      `--manage-nodes-with-annotation-selector=kwok.x-k8s.io/node=${name}`,
      '--node-ip=127.0.0.1',
      '--node-name=localhost',
      `--node-port=${port}`,
      `--server-address=127.0.0.1:${port}`,
      `--cidr=${options.cidr ?? '100.65.0.0/16'}`,
      '--node-lease-duration-seconds=40',
      '--enable-crds=Logs,ClusterLogs',
    ],
    { detached: true, stdio: ['ignore', out, out] },
  );
  child.on('error', () => {});
  // If this process dies without stopping the node (a killed test run), a watchdog stops kwok and removes the node.
  const watchdog = spawn(
    '/bin/sh',
    [
      '-c',
      'while kill -0 "$0" 2>/dev/null; do sleep 2; done; kill -TERM -"$1" 2>/dev/null; sleep 2; kill -KILL -"$1" 2>/dev/null; "$2" --kubeconfig="$3" delete node "$4" --wait=false >/dev/null 2>&1; rm -rf "$5"',
      String(process.pid),
      String(child.pid),
      cluster.kubectlBinary,
      kubeconfigPath,
      name,
      dir,
    ],
    { detached: true, stdio: 'ignore' },
  );
  watchdog.unref();
  child.unref();
  const stop = async () => {
    try {
      if (watchdog.pid !== undefined) process.kill(watchdog.pid, 'SIGKILL');
    } catch {
      // already gone
    }
    if (child.exitCode === null && child.pid !== undefined) {
      const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      try {
        process.kill(-child.pid, 'SIGTERM');
      } catch {
        // already gone
      }
      const timer = setTimeout(() => child.pid !== undefined && process.kill(-child.pid, 'SIGKILL'), 5_000);
      await exited;
      clearTimeout(timer);
    }
    await core.deleteNode({ name }).catch(() => {});
    rmSync(dir, { recursive: true, force: true });
  };
  const deadline = Date.now() + 30_000;
  for (;;) {
    const node = await core.readNode({ name }).catch(() => undefined);
    if (node?.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True')) break;
    if (child.exitCode !== null || Date.now() > deadline) {
      await stop();
      throw new Error(`sim node ${name} did not become Ready: ${readFileSync(logFile, 'utf8').slice(-2000)}`);
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  return {
    name,
    placement: { nodeSelector: { [NODE_LABEL]: name }, tolerations: [{ key: NODE_LABEL, operator: 'Exists', effect: 'NoSchedule' }] },
    stop,
  };
}
