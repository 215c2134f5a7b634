import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';
import type { NodeLayout } from './node/node-layout.ts';
import type { Pki } from './pki.ts';
import type { ClusterPorts } from './ports.ts';
import type { StartOptions } from './processes.ts';
import type { BinaryPaths } from './versions.ts';

/** Where one cluster instance keeps its files (all under one state directory per port block). */
export interface ClusterLayout {
  readonly dir: string;
  readonly dataDir: string;
  readonly logDir: string;
  readonly podLogDir: string;
  readonly kubeconfigPath: string;
  readonly kwokConfigPath: string;
  readonly ports: ClusterPorts;
  readonly pki: Pki;
  readonly bins: BinaryPaths;
}

export function layoutPaths(dir: string): Pick<ClusterLayout, 'dir' | 'dataDir' | 'logDir' | 'podLogDir' | 'kubeconfigPath' | 'kwokConfigPath'> {
  return {
    dir,
    dataDir: join(dir, 'data'),
    logDir: join(dir, 'logs'),
    podLogDir: join(dir, 'pod-logs'),
    kubeconfigPath: join(dir, 'kubeconfig.yaml'),
    kwokConfigPath: join(dir, 'kwok.yaml'),
  };
}

// Fake address ranges of the simulated cluster. Nothing ever connects to them: pods and services exist only as API
// objects. Kept out of the RFC 1918 ranges so that they can never be mistaken for a reachable host here.
export const SERVICE_CIDR = '100.96.0.0/16';
export const POD_CIDR = '100.64.0.0/16';

export function apiserverUrl(l: ClusterLayout): string {
  return `https://127.0.0.1:${l.ports.apiserver}`;
}

export function writeKubeconfig(l: ClusterLayout, caPem: string): void {
  const kubeconfig = {
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name: 'appserving-test', cluster: { server: apiserverUrl(l), 'certificate-authority-data': Buffer.from(caPem).toString('base64') } }],
    users: [{ name: 'appserving-admin', user: { token: l.pki.adminToken } }],
    contexts: [{ name: 'appserving-test', context: { cluster: 'appserving-test', user: 'appserving-admin', namespace: 'default' } }],
    'current-context': 'appserving-test',
  };
  writeFileSync(l.kubeconfigPath, stringify(kubeconfig), { mode: 0o600 });
}

export function etcd(l: ClusterLayout): StartOptions {
  const client = `http://127.0.0.1:${l.ports.etcdClient}`;
  const peer = `http://127.0.0.1:${l.ports.etcdPeer}`;
  return {
    name: 'etcd',
    binary: l.bins.etcd,
    logFile: join(l.logDir, 'etcd.log'),
    args: [
      '--name=appserving-test',
      `--data-dir=${join(l.dataDir, 'etcd')}`,
      `--listen-client-urls=${client}`,
      `--advertise-client-urls=${client}`,
      `--listen-peer-urls=${peer}`,
      `--initial-advertise-peer-urls=${peer}`,
      `--initial-cluster=appserving-test=${peer}`,
      '--unsafe-no-fsync=true',
      '--quota-backend-bytes=4294967296',
      '--log-level=warn',
    ],
  };
}

export function kubeApiserver(l: ClusterLayout): StartOptions {
  return {
    name: 'kube-apiserver',
    binary: l.bins.kubeApiserver,
    logFile: join(l.logDir, 'kube-apiserver.log'),
    args: [
      `--etcd-servers=http://127.0.0.1:${l.ports.etcdClient}`,
      '--bind-address=127.0.0.1',
      '--advertise-address=127.0.0.1',
      `--secure-port=${l.ports.apiserver}`,
      `--tls-cert-file=${l.pki.apiserverCert}`,
      `--tls-private-key-file=${l.pki.apiserverKey}`,
      `--client-ca-file=${l.pki.caCert}`,
      `--token-auth-file=${l.pki.tokenFile}`,
      '--authorization-mode=Node,RBAC',
      '--service-account-issuer=https://kubernetes.default.svc.cluster.local',
      `--service-account-key-file=${l.pki.serviceAccountPub}`,
      `--service-account-signing-key-file=${l.pki.serviceAccountKey}`,
      `--service-cluster-ip-range=${SERVICE_CIDR}`,
      // The `kubernetes` Endpoints may not hold a loopback address; nothing in the simulated cluster needs them.
      '--endpoint-reconciler-type=none',
      // pods/log and exec go to the "kubelet" at the node's InternalIP (127.0.0.1), i.e. kwok's server.
      '--kubelet-preferred-address-types=InternalIP',
      // The real node's kubelet accepts only clients with a certificate of the cluster's CA.
      `--kubelet-client-certificate=${l.pki.kubeletClientCert}`,
      `--kubelet-client-key=${l.pki.kubeletClientKey}`,
      '--allow-privileged=true',
      '--profiling=false',
      '--enable-priority-and-fairness=false',
      '--v=1',
    ],
  };
}

export function kubeControllerManager(l: ClusterLayout): StartOptions {
  return {
    name: 'kube-controller-manager',
    binary: l.bins.kubeControllerManager,
    logFile: join(l.logDir, 'kube-controller-manager.log'),
    args: [
      `--kubeconfig=${l.kubeconfigPath}`,
      '--bind-address=127.0.0.1',
      `--secure-port=${l.ports.controllerManager}`,
      '--leader-elect=false',
      `--service-account-private-key-file=${l.pki.serviceAccountKey}`,
      `--root-ca-file=${l.pki.caCert}`,
      '--use-service-account-credentials=false',
      // Dynamic volumes for the local cluster: a PersistentVolume is a directory /tmp/hostpath_pv/<uuid> on this
      // machine, which the real node mounts into its pods (a provisioner for one-machine clusters only).
      '--enable-hostpath-provisioner=true',
      `--service-cluster-ip-range=${SERVICE_CIDR}`,
      '--profiling=false',
      '--v=1',
    ],
  };
}

export function kubeScheduler(l: ClusterLayout): StartOptions {
  return {
    name: 'kube-scheduler',
    binary: l.bins.kubeScheduler,
    logFile: join(l.logDir, 'kube-scheduler.log'),
    args: [
      `--kubeconfig=${l.kubeconfigPath}`,
      '--bind-address=127.0.0.1',
      `--secure-port=${l.ports.scheduler}`,
      '--leader-elect=false',
      '--profiling=false',
      '--v=1',
    ],
  };
}

export function kwok(l: ClusterLayout): StartOptions {
  return {
    name: 'kwok',
    binary: l.bins.kwok,
    logFile: join(l.logDir, 'kwok.log'),
    args: [
      `--kubeconfig=${l.kubeconfigPath}`,
      `--config=${l.kwokConfigPath}`,
      '--manage-all-nodes=false',
      '--manage-nodes-with-annotation-selector=kwok.x-k8s.io/node=fake',
      '--node-ip=127.0.0.1',
      '--node-name=localhost',
      `--node-port=${l.ports.kwok}`,
      // kwok's "kubelet" server (logs, exec, ...): the apiserver reaches it at 127.0.0.1:<node port>.
      `--server-address=127.0.0.1:${l.ports.kwok}`,
      `--cidr=${POD_CIDR}`,
      '--node-lease-duration-seconds=40',
      '--enable-crds=Logs,ClusterLogs',
    ],
  };
}

export function flagger(l: ClusterLayout): StartOptions {
  return {
    name: 'flagger',
    binary: l.bins.flagger,
    logFile: join(l.logDir, 'flagger.log'),
    args: [
      `-kubeconfig=${l.kubeconfigPath}`,
      '-mesh-provider=kubernetes',
      // Always explicit: the default (http://prometheus:9090) would make Flagger resolve a DNS name.
      `-metrics-server=http://127.0.0.1:${l.ports.prometheus}`,
      // Listens on 127.0.0.1 only (build-time change, see scripts/build.sh).
      `-port=${l.ports.flagger}`,
      '-enable-leader-election=false',
      '-control-loop-interval=2s',
      '-log-level=info',
      '-zap-encoding=console',
      '-enable-config-tracking=true',
    ],
  };
}

/** The real node as Prometheus scrapes it: the kubelet's name and bridge address. */
export type ScrapedNode = Pick<NodeLayout, 'name' | 'nodeIp'>;

export function prometheusConfig(l: ClusterLayout, node: ScrapedNode | undefined): Record<string, unknown> {
  return { global: { scrape_interval: '15s', evaluation_interval: '15s' }, scrape_configs: node ? realNodeScrapes(l, node) : [] };
}

export function prometheus(l: ClusterLayout, opts: { realNode: boolean; node?: ScrapedNode } = { realNode: false }): StartOptions {
  const config = join(l.dir, 'prometheus.yml');
  // Tests also feed data through the remote-write receiver. With the real node, it scrapes the traffic gateway's
  // request metrics (127.0.0.1) and the kubelet's cAdvisor metrics (the node's bridge address); never a pod address.
  if (opts.realNode && !opts.node) throw new Error('prometheus: the real node\'s address is needed to scrape its kubelet');
  writeFileSync(config, stringify(prometheusConfig(l, opts.realNode ? opts.node : undefined)));
  return {
    name: 'prometheus',
    binary: '/usr/bin/prometheus',
    logFile: join(l.logDir, 'prometheus.log'),
    args: [
      `--config.file=${config}`,
      `--storage.tsdb.path=${join(l.dataDir, 'prometheus')}`,
      `--web.listen-address=127.0.0.1:${l.ports.prometheus}`,
      '--web.enable-remote-write-receiver',
      '--storage.tsdb.retention.time=1d',
      '--log.level=warn',
    ],
  };
}

/**
 * With the real node:
 * - the traffic gateway's request metrics, per route and per backend Service with status codes and durations, which
 *   canary and blue/green analysis reads (`traefik` analysis metrics) with no agent in the app;
 * - the kubelet's cAdvisor metrics (CPU, memory and their limits per container, labelled with namespace, pod and
 *   container), which app metrics read: over HTTPS on the node's bridge address, Prometheus showing a client
 *   certificate of the cluster's CA (the kubelet admits no one else) and checking the kubelet's against that CA.
 * (Debian's Prometheus is built without Kubernetes service discovery, so both are static targets, and pods are not
 * discovered and scraped.)
 */
function realNodeScrapes(l: ClusterLayout, node: ScrapedNode): Record<string, unknown>[] {
  return [
    { job_name: 'traffic-gateway', scrape_interval: '5s', static_configs: [{ targets: [`127.0.0.1:${l.ports.traefikAdmin}`] }] },
    {
      job_name: 'kubelet-cadvisor',
      scrape_interval: '10s',
      scheme: 'https',
      metrics_path: '/metrics/cadvisor',
      tls_config: { ca_file: l.pki.caCert, cert_file: l.pki.prometheusClientCert, key_file: l.pki.prometheusClientKey, server_name: node.name },
      static_configs: [{ targets: [`${node.nodeIp}:${l.ports.kubelet}`], labels: { node: node.name } }],
    },
  ];
}

export function registry(l: ClusterLayout): StartOptions {
  const config = join(l.dir, 'registry.yml');
  writeFileSync(
    config,
    stringify({
      version: 0.1,
      log: { level: 'warn', formatter: 'text' },
      storage: { filesystem: { rootdirectory: join(l.dataDir, 'registry') }, delete: { enabled: true } },
      http: { addr: `127.0.0.1:${l.ports.registry}` },
    }),
  );
  return {
    name: 'registry',
    binary: '/usr/bin/docker-registry',
    logFile: join(l.logDir, 'registry.log'),
    args: ['serve', config],
  };
}
