import { join } from 'node:path';
import type { ClusterPorts } from '../ports.ts';

/**
 * Names, addresses and directories of the real node of one local cluster (one per port block, so two clusters on
 * one machine never share a bridge, a cgroup or a socket).
 *
 * Pod addresses come from 100.66.<n>.0/24 on a Linux bridge this harness creates; the bridge's own address is the
 * node's InternalIP (the kubelet refuses a loopback node IP, and the API server reaches the kubelet there for
 * logs, exec and port-forward). Nothing outside this machine has these addresses, and a packet filter rule stops
 * any packet from a pod that would leave the bridge for another interface.
 */
export interface NodeLayout {
  readonly name: string;
  readonly bridge: string;
  /** The pod subnet, e.g. 100.66.8.0/24. */
  readonly subnet: string;
  /** The bridge's address: the pods' gateway, and the node's InternalIP. */
  readonly nodeIp: string;
  /** On-disk state (images, snapshots, kubelet volumes), under the cluster's data directory. */
  readonly dir: string;
  /** Volatile state (sockets, container state, network namespaces), short paths under /run. */
  readonly runDir: string;
  readonly containerdSocket: string;
  readonly containerdConfig: string;
  readonly containerdRoot: string;
  readonly containerdState: string;
  readonly registryHostsDir: string;
  readonly cniConfDir: string;
  readonly cniDataDir: string;
  readonly kubeletRoot: string;
  readonly kubeletConfig: string;
  readonly kubeletKubeconfig: string;
  readonly kubeletCertDir: string;
  readonly podLogsDir: string;
  readonly resolvConf: string;
  /** Where the local volume provisioner keeps the volumes of PersistentVolumeClaims. */
  readonly volumesDir: string;
  /** cgroup (v1, cgroupfs driver) under which the kubelet puts every pod. */
  readonly cgroupRoot: string;
  /** The iptables chain holding the node's isolation rules. */
  readonly filterChain: string;
  readonly ports: ClusterPorts;
}

/** The real node's name, label and taint (docs/local-cluster.md, "Where pods run"). */
export const REAL_NODE_NAME = 'real-node-0';
export const REAL_NODE_LABEL = 'appserving.dev/node';
export const REAL_NODE_LABEL_VALUE = 'real';

export function nodeLayout(dataDir: string, ports: ClusterPorts, portBase: number): NodeLayout {
  const octet = Math.floor(portBase / 100) % 256;
  const dir = join(dataDir, 'node');
  const runDir = `/run/appserving-${portBase}`;
  return {
    name: REAL_NODE_NAME,
    bridge: `asv${portBase}`,
    subnet: `100.66.${octet}.0/24`,
    nodeIp: `100.66.${octet}.1`,
    dir,
    runDir,
    containerdSocket: join(runDir, 'containerd.sock'),
    containerdConfig: join(dir, 'containerd.toml'),
    containerdRoot: join(dir, 'containerd'),
    containerdState: join(runDir, 'containerd'),
    registryHostsDir: join(dir, 'certs.d'),
    cniConfDir: join(dir, 'cni', 'net.d'),
    cniDataDir: join(runDir, 'cni'),
    kubeletRoot: join(dir, 'kubelet'),
    kubeletConfig: join(dir, 'kubelet-config.yaml'),
    kubeletKubeconfig: join(dir, 'kubelet.kubeconfig'),
    kubeletCertDir: join(dir, 'kubelet-pki'),
    podLogsDir: join(dir, 'pod-logs'),
    resolvConf: join(dir, 'resolv.conf'),
    volumesDir: join(dir, 'volumes'),
    cgroupRoot: `/appserving-${portBase}`,
    filterChain: `APPSERVING-${portBase}`,
    ports,
  };
}
