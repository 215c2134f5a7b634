/**
 * The cluster's 127.0.0.1 ports: a fixed block starting at APPSERVING_CLUSTER_PORT_BASE (default 26400), away from
 * the platform's own ports (NATS 4222, Postgres 5432, gateway 9112) and from the components' upstream defaults.
 */
export interface ClusterPorts {
  readonly apiserver: number;
  readonly etcdClient: number;
  readonly etcdPeer: number;
  readonly controllerManager: number;
  readonly scheduler: number;
  readonly kwok: number;
  readonly flagger: number;
  readonly prometheus: number;
  readonly registry: number;
  /** The real node's kubelet (HTTPS, on the node's bridge address, where the API server reaches it). */
  readonly kubelet: number;
  /** The real node's kubelet health endpoint (127.0.0.1). */
  readonly kubeletHealthz: number;
  /** The registry as pods on the real node reach it: a relay on the node's bridge address to the registry. */
  readonly registryRelay: number;
  /** The traffic gateway (Traefik): apps at http://<app>-<namespace>.localhost:<port>/. */
  readonly traefikWeb: number;
  /** Traefik's ping and Prometheus metrics. */
  readonly traefikAdmin: number;
  /** Flagger's load tester (its webhook API). */
  readonly loadTester: number;
}

export const DEFAULT_PORT_BASE = 26400;

export function clusterPorts(base: number): ClusterPorts {
  if (!Number.isInteger(base) || base < 1024 || base > 65000) {
    throw new Error(`APPSERVING_CLUSTER_PORT_BASE must be an integer between 1024 and 65000, got ${base}`);
  }
  return {
    apiserver: base,
    etcdClient: base + 1,
    etcdPeer: base + 2,
    controllerManager: base + 3,
    scheduler: base + 4,
    kwok: base + 5,
    flagger: base + 6,
    prometheus: base + 7,
    registry: base + 8,
    kubelet: base + 9,
    kubeletHealthz: base + 10,
    registryRelay: base + 8,
    traefikWeb: base + 11,
    traefikAdmin: base + 12,
    loadTester: base + 13,
  };
}

export function portBaseFromEnv(env: NodeJS.ProcessEnv = process.env): number {
  const raw = env.APPSERVING_CLUSTER_PORT_BASE;
  return raw ? Number(raw) : DEFAULT_PORT_BASE;
}
