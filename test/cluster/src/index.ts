export { startCluster, stopCluster, clusterStatus } from './cluster.ts';
export type { Cluster, ClusterInfo, ClusterStatus, StartClusterOptions } from './cluster.ts';
export { clusterPorts, DEFAULT_PORT_BASE } from './ports.ts';
export type { ClusterPorts } from './ports.ts';
export { readVersions } from './versions.ts';
export type { Versions } from './versions.ts';
export * from './sim.ts';
export { remoteWrite } from './prometheus-remote-write.ts';
export type { RemoteWriteSeries } from './prometheus-remote-write.ts';
