import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, readlinkSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as components from './components.ts';
import type { ClusterLayout } from './components.ts';
import { gatewayApiCrdFiles, GATEWAY_API_CRD_NAMES } from './gateway-api.ts';
import { goModuleDir } from './go-modules.ts';
import { probe, probeOk } from './http-probe.ts';
import { KWOK_CRD_NAMES, kwokCrdFiles, NODE_NAME, nodeManifest, writeKwokConfig } from './kwok.ts';
import { withLock } from './lock.ts';
import { ensurePki } from './pki.ts';
import { clusterPorts, portBaseFromEnv } from './ports.ts';
import type { ClusterPorts } from './ports.ts';
import { ensureBinaries, ensureDebianPackages } from './prerequisites.ts';
import { cleanupNode } from './node/node-cleanup.ts';
import { ensureNodeImages, pushNodeImages } from './node/node-images.ts';
import type { NodeImages } from './node/node-images.ts';
import { nodeLayout, REAL_NODE_LABEL, REAL_NODE_LABEL_VALUE } from './node/node-layout.ts';
import { REAL_NODE_TAINT } from './node/kubelet.ts';
import { realNodePrerequisites, startRealNode } from './node/real-node.ts';
import { gatewayManifests, loadTester, LOCAL_APP_DOMAIN, LOCAL_GATEWAY, traefik } from './traefik.ts';
import { isOurProcess, liveGroupMembers, rssKiB, startProcess, stopProcessGroup, waitFor } from './processes.ts';
import type { StartedProcess } from './processes.ts';
import { binaryPaths, cacheRoot, readVersions } from './versions.ts';
import type { Versions } from './versions.ts';

/** What a user of the cluster needs: all addresses are on 127.0.0.1. */
const CRD_NAMES = ['canaries.flagger.app', 'metrictemplates.flagger.app', 'alertproviders.flagger.app', ...KWOK_CRD_NAMES, ...GATEWAY_API_CRD_NAMES];

export interface ClusterInfo {
  readonly kubeconfigPath: string;
  readonly apiserverUrl: string;
  /** OCI registry base URL, e.g. http://127.0.0.1:26408 (plain HTTP). */
  readonly registryUrl: string;
  /** host:port of the registry, for image references (`127.0.0.1:26408/app:tag`). */
  readonly registryHost: string;
  readonly prometheusUrl: string;
  /** State directory of this cluster: logs/, pod-logs/, data/, kubeconfig.yaml. */
  readonly clusterDir: string;
  readonly podLogDir: string;
  readonly kubectlBinary: string;
  readonly helmBinary: string;
  /** The simulated (kwok) node. */
  readonly nodeName: string;
  /** The real node (kubelet, containerd, runc), when the cluster has one (APPSERVING_CLUSTER_REAL_NODE is not 0). */
  readonly realNode?: RealNodeInfo;
  /** Every 127.0.0.1 port of the cluster (apiserver, kwok's kubelet server, Flagger, ...). */
  readonly ports: ClusterPorts;
  readonly versions: Versions;
}

/** The real node: where pods run for real (docs/local-cluster.md, "The real node"). */
export interface RealNodeInfo {
  readonly name: string;
  /** The node's address on its bridge (the pods' gateway); pods reach the registry relay and the platform here. */
  readonly nodeIp: string;
  /** The pods' subnet on the bridge. */
  readonly subnet: string;
  /** containerd's socket (for `ctr`, e.g. to start an image outside Kubernetes as a benchmark's floor). */
  readonly containerdSocket: string;
  /** The local registry as pods reach it (`<nodeIp>:<registry port>`), e.g. for Kaniko's pushes. */
  readonly registryHostForPods: string;
  /** The node's images in the local registry (runtimes for apps, curl, Kaniko, pause). */
  readonly images: NodeImages;
  /** What a pod needs to run there: this node selector and toleration (the node is tainted). */
  readonly placement: {
    readonly nodeSelector: Record<string, string>;
    readonly tolerations: { key: string; operator: 'Equal'; value: string; effect: string }[];
  };
  /** The StorageClass of the cluster's volume provisioner (kube-controller-manager's hostPath provisioner). */
  readonly storageClass: string;
  /** The traffic gateway (Traefik) routing 127.0.0.1 to the node's pods. */
  readonly trafficGateway: TrafficGatewayInfo;
}

export interface TrafficGatewayInfo {
  /** Where requests go: http://127.0.0.1:<port>, with the app's host name (`<app>-<namespace>.localhost`). */
  readonly url: string;
  /** The Gateway apps attach their HTTPRoutes to (`namespace/name`, APPSERVING_APP_GATEWAY). */
  readonly gateway: string;
  /** The domain of app host names (APPSERVING_APP_DOMAIN). */
  readonly domain: string;
  /** Traefik's own endpoint: /ping and /metrics (request counts and latencies per route and service). */
  readonly adminUrl: string;
  /** Flagger's load tester, which Flagger calls to load a canary through this gateway during analysis. */
  readonly loadTesterUrl: string;
}

/** The default StorageClass of the local cluster: PersistentVolumes are directories on this machine. */
export const LOCAL_STORAGE_CLASS = 'local-hostpath';

/** APPSERVING_CLUSTER_REAL_NODE=0 starts the control plane without the real node (machines that cannot run containers). */
export function realNodeWanted(env: NodeJS.ProcessEnv = process.env): boolean {
  return env.APPSERVING_CLUSTER_REAL_NODE !== '0' && env.APPSERVING_CLUSTER_REAL_NODE !== 'false';
}

export interface Cluster extends ClusterInfo {
  /** Releases this caller's use; the last user of a non-persistent cluster stops it. */
  readonly stop: () => Promise<void>;
}

export interface StartClusterOptions {
  /** First of the cluster's 127.0.0.1 ports (default APPSERVING_CLUSTER_PORT_BASE or 26400). */
  readonly portBase?: number;
  /** Keep running after every user released it (`pnpm cluster:up`); stopped only by `stopCluster`. */
  readonly persistent?: boolean;
  /** Progress lines for people; default: stderr. */
  readonly log?: (line: string) => void;
}

interface ClusterState {
  info: ClusterInfo;
  processes: StartedProcess[];
  /** pids of the processes using the cluster (one entry per use, e.g. per vitest project). */
  owners: number[];
  persistent: boolean;
  startedAt: string;
  startSeconds?: number;
}

function stateDir(portBase: number): string {
  return join(cacheRoot(), 'cluster', `run-${portBase}`);
}

function readState(dir: string): ClusterState | undefined {
  const file = join(dir, 'state.json');
  if (!existsSync(file)) return undefined;
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as ClusterState;
  } catch {
    return undefined;
  }
}

function writeState(dir: string, state: ClusterState): void {
  writeFileSync(join(dir, 'state.json.tmp'), JSON.stringify(state, null, 2));
  // rename is atomic: readers never see half a file
  renameSync(join(dir, 'state.json.tmp'), join(dir, 'state.json'));
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function healthy(state: ClusterState, dir: string): Promise<boolean> {
  if (!state.processes.every((p) => isOurProcess(p.pid, p.binary))) return false;
  // A cluster started without the real node (or before it existed) is replaced when one is wanted now.
  if (realNodeWanted() && !state.info.realNode) return false;
  try {
    const pki = ensurePki(join(dir, 'pki'));
    const opts = { ca: readFileSync(pki.caCert, 'utf8'), token: pki.adminToken };
    if (!(await probeOk(`${state.info.apiserverUrl}/readyz`, opts))) return false;
    if (!state.info.realNode) return true;
    const node = JSON.parse((await probe(`${state.info.apiserverUrl}/api/v1/nodes/${state.info.realNode.name}`, opts)).body) as NodeStatus;
    return nodeReady(node);
  } catch {
    return false;
  }
}

interface NodeStatus {
  status?: { conditions?: { type: string; status: string }[] };
}

function nodeReady(node: NodeStatus): boolean {
  return node.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false;
}

/**
 * Processes of this cluster that no state file remembers (a run that crashed while starting): any process running
 * one of our binaries with an argument, or its working directory, inside this cluster's state directory.
 */
function leftoverProcesses(dir: string, binaries: readonly string[]): number[] {
  const found: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    try {
      const argv = readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0');
      if (binaries.includes(argv[0] ?? '') && (argv.some((a) => a.includes(`${dir}/`)) || `${cwdOf(Number(entry))}/`.startsWith(`${dir}/`))) found.push(Number(entry));
    } catch {
      // exited
    }
  }
  return found;
}

function cwdOf(pid: number): string {
  try {
    return readlinkSync(`/proc/${pid}/cwd`);
  } catch {
    return '';
  }
}

async function stopAll(state: ClusterState | undefined, dir: string, binaries: readonly string[], log: (l: string) => void): Promise<void> {
  // Only groups whose leader still runs our binary: after a reboot, a recorded pid may belong to someone else.
  const known = (state?.processes ?? []).filter((p) => isOurProcess(p.pid, p.binary));
  for (const p of known) log(`stopping ${p.name} (pid ${p.pid})`);
  // Clients first, then the apiserver, then etcd: an apiserver whose etcd is gone takes long to shut down.
  const last = ['kube-apiserver', 'etcd'];
  await Promise.all(known.filter((p) => !last.includes(p.name)).map((p) => stopProcessGroup(p.pid)));
  for (const name of last) {
    await Promise.all(known.filter((p) => p.name === name).map((p) => stopProcessGroup(p.pid)));
  }
  for (const pid of leftoverProcesses(dir, binaries)) {
    log(`stopping leftover process ${pid} of an earlier run`);
    await stopProcessGroup(pid);
    if (pidAlive(pid)) {
      process.kill(pid, 'SIGKILL');
    }
  }
  const survivors = [...known.flatMap((p) => liveGroupMembers(p.pid)), ...leftoverProcesses(dir, binaries)];
  if (survivors.length > 0) throw new Error(`cluster processes still running after stop: ${survivors.join(', ')}`);
  // The real node's pods, shims, mounts, cgroups and bridge outlive its processes: remove them before any file.
  await cleanupNode(nodeLayout(join(dir, 'data'), clusterPorts(portBaseOf(dir)), portBaseOf(dir)), binaryPaths(state?.info.versions ?? readVersions()));
  rmSync(join(dir, 'state.json'), { force: true });
  rmSync(join(dir, 'data'), { recursive: true, force: true });
}

function portBaseOf(dir: string): number {
  return Number(/run-(\d+)$/.exec(dir)?.[1] ?? portBaseFromEnv());
}

function allBinaries(l: Pick<ClusterLayout, 'bins'>): string[] {
  return [...Object.values(l.bins), '/usr/bin/prometheus', '/usr/bin/docker-registry', '/usr/bin/socat'];
}

/**
 * Starts the local cluster, or joins the one already running on the same ports (another vitest project of this run,
 * or a `pnpm cluster:up`). A cluster left by a crashed run (dead owners, dead or unhealthy processes) is stopped
 * and replaced.
 */
export async function startCluster(opts: StartClusterOptions = {}): Promise<Cluster> {
  const log = opts.log ?? ((line: string) => process.stderr.write(`[cluster] ${line}\n`));
  const portBase = opts.portBase ?? portBaseFromEnv();
  const dir = stateDir(portBase);
  mkdirSync(dir, { recursive: true });
  const versions = readVersions();
  const bins = binaryPaths(versions);

  const info = await withLock(join(dir, 'lock'), async () => {
    const existing = readState(dir);
    if (existing) {
      existing.owners = existing.owners.filter(pidAlive);
      if ((existing.persistent || existing.owners.length > 0) && (await healthy(existing, dir))) {
        await refreshKwokIfStagesChanged(existing, dir, portBase, log);
        await refreshNodeImages(existing, log);
        if (!opts.persistent) existing.owners.push(process.pid);
        existing.persistent ||= opts.persistent === true;
        writeState(dir, existing);
        log(`using the cluster already running at ${existing.info.apiserverUrl}`);
        return existing.info;
      }
      log('found a stale cluster of an earlier run; stopping it');
    }
    await stopAll(existing, dir, allBinaries({ bins }), log);
    return await launch(dir, portBase, versions, opts, log);
  });
  return { ...info, stop: () => releaseCluster(dir, log) };
}

/**
 * A running cluster keeps the pod stages its kwok read when it started. When the tree's stages (or kwok's
 * config) changed since, only kwok is restarted with the new config: the API server, its objects and the other
 * users' pods stay, and kwok applies the new stages to pods from then on.
 */
async function refreshKwokIfStagesChanged(state: ClusterState, dir: string, portBase: number, log: (l: string) => void): Promise<void> {
  const l: ClusterLayout = { ...components.layoutPaths(dir), ports: clusterPorts(portBase), pki: ensurePki(join(dir, 'pki')), bins: binaryPaths(state.info.versions) };
  const wanted = join(dir, 'kwok.next.yaml');
  writeKwokConfig(wanted, state.info.versions.KWOK_VERSION);
  const current = existsSync(l.kwokConfigPath) ? readFileSync(l.kwokConfigPath, 'utf8') : '';
  if (readFileSync(wanted, 'utf8') === current) {
    rmSync(wanted, { force: true });
    return;
  }
  log('the pod stages changed since this cluster started: restarting kwok with the new ones');
  for (const old of state.processes.filter((p) => p.name === 'kwok')) await stopProcessGroup(old.pid);
  renameSync(wanted, l.kwokConfigPath);
  const kwok = startProcess(components.kwok(l));
  state.processes = [...state.processes.filter((p) => p.name !== 'kwok'), kwok];
  writeState(dir, state);
  const ca = readFileSync(l.pki.caCert, 'utf8');
  await waitFor(
    `kwok (node ${NODE_NAME} Ready)`,
    async () => (await probe(`${state.info.apiserverUrl}/api/v1/nodes/${NODE_NAME}`, { ca, token: l.pki.adminToken })).status === 200,
    { timeoutMs: 60_000, process: kwok },
  );
}

/**
 * The node's images of the tree (a changed recipe is built first) are pushed again when a user joins a running
 * cluster: blobs the registry has are not sent again, and a changed image replaces its tag.
 */
async function refreshNodeImages(state: ClusterState, log: (l: string) => void): Promise<void> {
  if (!state.info.realNode) return;
  const bins = binaryPaths(state.info.versions);
  await ensureNodeImages(state.info.versions, bins, log);
  await pushNodeImages(state.info.versions, bins, state.info.registryHost);
}

async function releaseCluster(dir: string, log: (l: string) => void): Promise<void> {
  await withLock(join(dir, 'lock'), async () => {
    const state = readState(dir);
    if (!state) return;
    const mine = state.owners.indexOf(process.pid);
    if (mine >= 0) state.owners.splice(mine, 1);
    state.owners = state.owners.filter(pidAlive);
    if (state.owners.length > 0 || state.persistent) {
      writeState(dir, state);
      return;
    }
    await stopAll(state, dir, allBinaries({ bins: binaryPaths(state.info.versions) }), log);
    log('cluster stopped');
  });
}

/** Stops the cluster on these ports whoever started it (`pnpm cluster:down`). */
export async function stopCluster(opts: { portBase?: number; log?: (line: string) => void } = {}): Promise<boolean> {
  const log = opts.log ?? ((line: string) => process.stderr.write(`[cluster] ${line}\n`));
  const dir = stateDir(opts.portBase ?? portBaseFromEnv());
  if (!existsSync(dir)) return false;
  return withLock(join(dir, 'lock'), async () => {
    const state = readState(dir);
    const bins = binaryPaths(state?.info.versions ?? readVersions());
    await stopAll(state, dir, allBinaries({ bins }), log);
    return state !== undefined;
  });
}

export interface ClusterStatus {
  readonly running: boolean;
  readonly info?: ClusterInfo;
  readonly owners: number[];
  readonly persistent: boolean;
  readonly startSeconds?: number;
  /** Resident memory of each component process, KiB. */
  readonly rssKiB: Record<string, number>;
}

/** What the cluster on these ports told its users when it started (its state file), without probing it. */
export function readClusterInfo(portBase = portBaseFromEnv()): ClusterInfo | undefined {
  return readState(stateDir(portBase))?.info;
}

export async function clusterStatus(portBase = portBaseFromEnv()): Promise<ClusterStatus> {
  const dir = stateDir(portBase);
  const state = readState(dir);
  if (!state) return { running: false, owners: [], persistent: false, rssKiB: {} };
  const rss = Object.fromEntries(state.processes.map((p) => [p.name, rssKiB(p.pid)]));
  return {
    running: await healthy(state, dir),
    info: state.info,
    owners: state.owners.filter(pidAlive),
    persistent: state.persistent,
    startSeconds: state.startSeconds,
    rssKiB: rss,
  };
}

async function launch(dir: string, portBase: number, versions: Versions, opts: StartClusterOptions, log: (l: string) => void): Promise<ClusterInfo> {
  const t0 = Date.now();
  const since = () => `${((Date.now() - t0) / 1000).toFixed(1)}s`;
  const withNode = realNodeWanted();
  ensureDebianPackages(versions, log, { node: withNode });
  await ensureBinaries(versions, log);
  if (withNode) {
    const problems = realNodePrerequisites();
    if (problems.length > 0) {
      throw new Error(`the real node cannot run on this machine: ${problems.join('; ')} (APPSERVING_CLUSTER_REAL_NODE=0 starts the cluster without it)`);
    }
    await ensureNodeImages(versions, binaryPaths(versions), log);
  }

  const paths = components.layoutPaths(dir);
  for (const d of [paths.dataDir, paths.logDir, paths.podLogDir]) {
    rmSync(d, { recursive: true, force: true });
    mkdirSync(d, { recursive: true });
  }
  const l: ClusterLayout = { ...paths, ports: clusterPorts(portBase), pki: ensurePki(join(dir, 'pki')), bins: binaryPaths(versions) };
  const ca = readFileSync(l.pki.caCert, 'utf8');
  components.writeKubeconfig(l, ca);
  writeKwokConfig(l.kwokConfigPath, versions.KWOK_VERSION);
  const crdFiles = [
    join(goModuleDir('github.com/fluxcd/flagger', versions.FLAGGER_VERSION), 'artifacts', 'flagger', 'crd.yaml'),
    ...kwokCrdFiles(versions.KWOK_VERSION),
    ...gatewayApiCrdFiles(versions.GATEWAY_API_VERSION),
  ];

  const node = nodeLayout(l.dataDir, l.ports, portBase);
  const info: ClusterInfo = {
    kubeconfigPath: l.kubeconfigPath,
    apiserverUrl: components.apiserverUrl(l),
    registryUrl: `http://127.0.0.1:${l.ports.registry}`,
    registryHost: `127.0.0.1:${l.ports.registry}`,
    prometheusUrl: `http://127.0.0.1:${l.ports.prometheus}`,
    clusterDir: dir,
    podLogDir: l.podLogDir,
    kubectlBinary: l.bins.kubectl,
    helmBinary: l.bins.helm,
    nodeName: NODE_NAME,
    ports: l.ports,
    versions,
  };
  const state: ClusterState = {
    info,
    processes: [],
    owners: opts.persistent ? [] : [process.pid],
    persistent: opts.persistent === true,
    startedAt: new Date().toISOString(),
  };
  // Every process is recorded the moment it exists, so a crash while starting leaves nothing unaccounted for.
  const start = (o: Parameters<typeof startProcess>[0]) => {
    const p = startProcess(o);
    state.processes.push(p);
    writeState(dir, state);
    return p;
  };
  const api = (path: string) => probe(`${info.apiserverUrl}${path}`, { ca, token: l.pki.adminToken });
  const kubectl = (...args: string[]) =>
    execFileSync(l.bins.kubectl, [`--kubeconfig=${l.kubeconfigPath}`, ...args], { encoding: 'utf8', stdio: ['pipe', 'pipe', 'pipe'] });

  try {
    const etcd = start(components.etcd(l));
    const prom = start(components.prometheus(l, { realNode: withNode, node }));
    const reg = start(components.registry(l));
    await waitFor('etcd', async () => (await probe(`http://127.0.0.1:${l.ports.etcdClient}/health`)).body.includes('"true"'), { timeoutMs: 30_000, process: etcd });
    log(`etcd ready (${since()})`);

    const apiserver = start(components.kubeApiserver(l));
    await waitFor('kube-apiserver', async () => (await api('/readyz')).status === 200, { timeoutMs: 90_000, process: apiserver, intervalMs: 250 });
    log(`kube-apiserver ready at ${info.apiserverUrl} (${since()})`);

    const kcm = start(components.kubeControllerManager(l));
    const scheduler = start(components.kubeScheduler(l));
    // CRDs (kwok's Logs/ClusterLogs, Flagger's) come from the Go module cache; both controllers need them at start.
    kubectl('apply', '--server-side', ...crdFiles.flatMap((f) => ['-f', f]));
    kubectl('wait', '--for=condition=Established', '--timeout=60s', ...CRD_NAMES.map((n) => `crd/${n}`));
    const kwok = start(components.kwok(l));
    const nodeFile = join(dir, 'node.yaml');
    writeFileSync(nodeFile, JSON.stringify(nodeManifest()));
    kubectl('apply', '-f', nodeFile);
    const flagger = start(components.flagger(l));

    const registryReady = waitFor('registry', () => probeOk(`${info.registryUrl}/v2/`), { timeoutMs: 30_000, process: reg });
    let realNode: RealNodeInfo | undefined;
    const nodeReady = !withNode
      ? Promise.resolve()
      : registryReady.then(async () => {
          const images = await pushNodeImages(versions, l.bins, info.registryHost);
          log(`node images pushed to ${info.registryHost} (${since()})`);
          await startRealNode(
            { layout: node, bins: l.bins, pki: l.pki, logDir: l.logDir, apiserverUrl: info.apiserverUrl, caPem: ca, registryHost: info.registryHost, images, start, api },
            log,
          );
          realNode = {
            name: node.name,
            nodeIp: node.nodeIp,
            subnet: node.subnet,
            containerdSocket: node.containerdSocket,
            registryHostForPods: `${node.nodeIp}:${node.ports.registryRelay}`,
            images,
            placement: {
              nodeSelector: { [REAL_NODE_LABEL]: REAL_NODE_LABEL_VALUE },
              tolerations: [{ key: REAL_NODE_TAINT.key, operator: 'Equal', value: REAL_NODE_TAINT.value, effect: REAL_NODE_TAINT.effect }],
            },
            storageClass: LOCAL_STORAGE_CLASS,
            trafficGateway: {
              url: `http://127.0.0.1:${l.ports.traefikWeb}`,
              gateway: `${LOCAL_GATEWAY.namespace}/${LOCAL_GATEWAY.name}`,
              domain: LOCAL_APP_DOMAIN,
              adminUrl: `http://127.0.0.1:${l.ports.traefikAdmin}`,
              loadTesterUrl: `http://127.0.0.1:${l.ports.loadTester}`,
            },
          };
          log(`real node ${node.name} Ready (${since()})`);
        });
    const gatewayReady = !withNode
      ? Promise.resolve()
      : (async () => {
          const file = join(dir, 'gateway.yaml');
          writeFileSync(file, gatewayManifests(l).map((m) => JSON.stringify(m)).join('\n---\n'));
          kubectl('apply', '-f', file);
          const proxy = start(traefik(l));
          const tester = start(loadTester(l));
          await waitFor('traefik', () => probeOk(`http://127.0.0.1:${l.ports.traefikAdmin}/ping`), { timeoutMs: 30_000, process: proxy });
          await waitFor('load tester', () => probeOk(`http://127.0.0.1:${l.ports.loadTester}/healthz`), { timeoutMs: 30_000, process: tester });
          log(`traffic gateway (Traefik) on http://127.0.0.1:${l.ports.traefikWeb} (${since()})`);
        })();
    // PersistentVolumeClaims without a class get a directory on this machine (kube-controller-manager's provisioner).
    const storageClassFile = join(dir, 'storage-class.yaml');
    writeFileSync(storageClassFile, JSON.stringify(storageClassManifest()));
    kubectl('apply', '-f', storageClassFile);

    await Promise.all([
      nodeReady,
      gatewayReady,
      waitFor('prometheus', () => probeOk(`${info.prometheusUrl}/-/ready`), { timeoutMs: 60_000, process: prom }),
      registryReady,
      waitFor('kube-scheduler', () => probeOk(`https://127.0.0.1:${l.ports.scheduler}/healthz`), { timeoutMs: 60_000, process: scheduler }),
      waitFor(
        'kube-controller-manager (default ServiceAccount)',
        async () => (await api('/api/v1/namespaces/default/serviceaccounts/default')).status === 200,
        { timeoutMs: 90_000, process: kcm },
      ),
      waitFor(
        `kwok (node ${NODE_NAME} Ready)`,
        async () => {
          const node = JSON.parse((await api(`/api/v1/nodes/${NODE_NAME}`)).body) as { status?: { conditions?: { type: string; status: string }[] } };
          return node.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false;
        },
        { timeoutMs: 60_000, process: kwok },
      ),
      waitFor('flagger', () => probeOk(`http://127.0.0.1:${l.ports.flagger}/healthz`), { timeoutMs: 60_000, process: flagger }),
    ]);
    const ready: ClusterInfo = realNode ? { ...info, realNode } : info;
    state.info = ready;
    state.startSeconds = (Date.now() - t0) / 1000;
    writeState(dir, state);
    log(`cluster ready in ${since()}: kubeconfig ${info.kubeconfigPath}`);
    return ready;
  } catch (err) {
    log(`start failed: ${err instanceof Error ? err.message : String(err)}`);
    await stopAll(state, dir, allBinaries(l), log).catch(() => {});
    throw err;
  }
}

function storageClassManifest(): Record<string, unknown> {
  return {
    apiVersion: 'storage.k8s.io/v1',
    kind: 'StorageClass',
    metadata: { name: LOCAL_STORAGE_CLASS, annotations: { 'storageclass.kubernetes.io/is-default-class': 'true' } },
    provisioner: 'kubernetes.io/host-path',
    reclaimPolicy: 'Delete',
    volumeBindingMode: 'Immediate',
  };
}
