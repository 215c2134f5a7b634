/**
 * The start of every benchmark on the local cluster's real node: the cluster (joined, or started), the test
 * settings that point the harness at it, and the whole platform deploying to the real node.
 */
import { readFileSync } from 'node:fs';
import { startCluster, type Cluster } from '../../test/cluster/src/index.ts';
import { startPlatform, type Platform } from '../../test/support/platform.ts';

export const cpuModel = /model name\s*:\s*(.*)/.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1] ?? 'unknown';
export const log = (line: string) => process.stderr.write(`[bench] ${line}\n`);

export async function startRealNodeBench(): Promise<{ cluster: Cluster; platform: Platform }> {
  const cluster = await startCluster({ log: (line) => process.stderr.write(`[cluster] ${line}\n`) });
  if (!cluster.realNode) throw new Error("this benchmark needs the local cluster's real node (APPSERVING_CLUSTER_REAL_NODE=0 leaves it out)");
  Object.assign(process.env, {
    APPSERVING_TEST_KUBECONFIG: cluster.kubeconfigPath,
    APPSERVING_TEST_PROMETHEUS: cluster.prometheusUrl,
    APPSERVING_TEST_REGISTRY: cluster.registryHost,
    APPSERVING_TEST_HELM: cluster.helmBinary,
    APPSERVING_TEST_KUBECTL: cluster.kubectlBinary,
  });
  return { cluster, platform: await startPlatform({ realNode: true, logLevel: 'warn' }) };
}
