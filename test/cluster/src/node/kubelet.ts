import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { issueKubeletServingCertificate, type Pki } from '../pki.ts';
import type { StartOptions } from '../processes.ts';
import type { BinaryPaths } from '../versions.ts';
import { REAL_NODE_LABEL, REAL_NODE_LABEL_VALUE } from './node-layout.ts';
import type { NodeLayout } from './node-layout.ts';

/**
 * The taint of the real node: only pods that tolerate it run there (apps of a cluster whose placement asks for the
 * real node, build Pods of such a cluster, tests that need a real process); everything else still goes to the
 * simulated kwok node, whose speed the scale and fault tests rely on.
 */
export const REAL_NODE_TAINT = { key: REAL_NODE_LABEL, value: REAL_NODE_LABEL_VALUE, effect: 'NoSchedule' } as const;

/**
 * The kubelet's configuration. What these machines need (docs/local-cluster.md, "The real node"):
 * - cgroup v1 (hybrid): `failCgroupV1: false` and the cgroupfs driver (no systemd);
 * - a node address that is not loopback: the bridge's address, where the API server reaches the kubelet;
 * - the kubelet's HTTPS server accepts only clients with a certificate of the cluster's CA (the API server, and
 *   Prometheus for /metrics/cadvisor), since pods on the bridge can reach the node address too; it serves a
 *   certificate of that CA for its bridge address, so Prometheus can check whom it talks to;
 * - its own directories for everything it would otherwise write under /var/lib/kubelet, /var/log/pods and
 *   /usr/libexec, and a resolv.conf that resolves nothing (no DNS query leaves the machine).
 */
export function writeKubeletConfig(l: NodeLayout, pki: Pki, apiserverUrl: string, caPem: string): void {
  for (const d of [l.kubeletRoot, l.kubeletCertDir, l.podLogsDir, l.volumesDir]) mkdirSync(d, { recursive: true });
  const serving = issueKubeletServingCertificate(pki, l.kubeletCertDir, l.name, l.nodeIp);
  writeFileSync(l.resolvConf, '# The local cluster has no DNS: nothing leaves this machine (docs/local-cluster.md).\nnameserver 127.0.0.1\noptions timeout:1 attempts:1\n');
  const config = {
    apiVersion: 'kubelet.config.k8s.io/v1beta1',
    kind: 'KubeletConfiguration',
    failCgroupV1: false,
    cgroupDriver: 'cgroupfs',
    cgroupRoot: l.cgroupRoot,
    cgroupsPerQOS: true,
    enforceNodeAllocatable: ['pods'],
    containerRuntimeEndpoint: `unix://${l.containerdSocket}`,
    address: l.nodeIp,
    port: l.ports.kubelet,
    readOnlyPort: 0,
    tlsCertFile: serving.cert,
    tlsPrivateKeyFile: serving.key,
    healthzBindAddress: '127.0.0.1',
    healthzPort: l.ports.kubeletHealthz,
    authentication: { anonymous: { enabled: false }, webhook: { enabled: false }, x509: { clientCAFile: pki.caCert } },
    authorization: { mode: 'AlwaysAllow' },
    registerNode: true,
    registerWithTaints: [REAL_NODE_TAINT],
    resolvConf: l.resolvConf,
    clusterDomain: 'cluster.local',
    podLogsDir: l.podLogsDir,
    volumePluginDir: join(l.dir, 'volume-plugins'),
    failSwapOn: false,
    protectKernelDefaults: false,
    serializeImagePulls: false,
    maxPods: 60,
    // The machine's disk is shared with everything else: evict only when it is really full.
    evictionHard: { 'memory.available': '200Mi', 'nodefs.available': '2%', 'imagefs.available': '2%', 'nodefs.inodesFree': '2%' },
    imageGCHighThresholdPercent: 95,
    imageGCLowThresholdPercent: 90,
    containerLogMaxSize: '10Mi',
    containerLogMaxFiles: 3,
    shutdownGracePeriod: '0s',
    // Status reports often enough that a test sees a pod's readiness change within a second or two.
    nodeStatusUpdateFrequency: '10s',
    syncFrequency: '10s',
    fileCheckFrequency: '20s',
  };
  writeFileSync(l.kubeletConfig, stringify(config));
  const kubeconfig = {
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name: 'local', cluster: { server: apiserverUrl, 'certificate-authority-data': Buffer.from(caPem).toString('base64') } }],
    users: [{ name: 'kubelet', user: { token: pki.nodeToken } }],
    contexts: [{ name: 'kubelet', context: { cluster: 'local', user: 'kubelet' } }],
    'current-context': 'kubelet',
  };
  writeFileSync(l.kubeletKubeconfig, stringify(kubeconfig), { mode: 0o600 });
}

export function kubelet(l: NodeLayout, bins: BinaryPaths, logDir: string): StartOptions {
  return {
    name: 'kubelet',
    binary: bins.kubelet,
    logFile: join(logDir, 'kubelet.log'),
    args: [
      `--config=${l.kubeletConfig}`,
      `--kubeconfig=${l.kubeletKubeconfig}`,
      `--hostname-override=${l.name}`,
      `--node-ip=${l.nodeIp}`,
      `--root-dir=${l.kubeletRoot}`,
      `--cert-dir=${l.kubeletCertDir}`,
      `--node-labels=${REAL_NODE_LABEL}=${REAL_NODE_LABEL_VALUE}`,
      // cAdvisor (inside the kubelet) names a container's cgroup (labels namespace, pod, container) by asking
      // containerd, at /run/containerd/containerd.sock unless told: without this only pod cgroups have names.
      `--containerd=${l.containerdSocket}`,
      '--v=1',
    ],
  };
}
