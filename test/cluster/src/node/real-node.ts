import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Pki } from '../pki.ts';
import type { StartedProcess, StartOptions } from '../processes.ts';
import { waitFor } from '../processes.ts';
import type { BinaryPaths } from '../versions.ts';
import { containerd, writeContainerdConfig } from './containerd.ts';
import { kubelet, writeKubeletConfig } from './kubelet.ts';
import { CGROUP_MOUNT, cleanupNode } from './node-cleanup.ts';
import type { NodeLayout } from './node-layout.ts';
import { setupNodeNetwork } from './node-network.ts';
import type { NodeImages } from './node-images.ts';

export interface RealNodeContext {
  readonly layout: NodeLayout;
  readonly bins: BinaryPaths;
  readonly pki: Pki;
  readonly logDir: string;
  readonly apiserverUrl: string;
  readonly caPem: string;
  readonly registryHost: string;
  readonly images: NodeImages;
  /** Starts and records a component process (cluster.ts keeps every process in its state file). */
  readonly start: (o: StartOptions) => StartedProcess;
  /** GET on the API server with the admin token. */
  readonly api: (path: string) => Promise<{ status: number; body: string }>;
}

/** What a machine must have for the real node; each missing piece is named, with what provides it. */
export function realNodePrerequisites(): string[] {
  const problems: string[] = [];
  if (process.getuid?.() !== 0) problems.push('must run as root (containers, a bridge, cgroups and mounts)');
  if (!existsSync('/sys/fs/cgroup/memory/cgroup.procs') && !existsSync('/sys/fs/cgroup/cgroup.controllers')) problems.push('no cgroup filesystem at /sys/fs/cgroup');
  if (!existsSync('/proc/sys/net/bridge')) problems.push('no bridge netfilter (/proc/sys/net/bridge: modprobe br_netfilter)');
  if (!existsSync('/proc/filesystems') || !execFileSync('cat', ['/proc/filesystems'], { encoding: 'utf8' }).includes('overlay')) problems.push('no overlay filesystem (modprobe overlay)');
  for (const [file, pkg] of [['/usr/lib/cni/bridge', 'containernetworking-plugins'], ['/usr/sbin/iptables', 'iptables'], ['/usr/bin/socat', 'socat'], ['/usr/bin/mmdebstrap', 'mmdebstrap']] as const) {
    if (!existsSync(file)) problems.push(`${file} missing (Debian package ${pkg})`);
  }
  return problems;
}

/**
 * Starts the real node: its network, containerd, a relay through which pods reach the registry (at the node's
 * address, same port), and the kubelet; resolves when the node is Ready. Whatever an earlier run left of the node
 * is removed first.
 */
export async function startRealNode(ctx: RealNodeContext, log: (line: string) => void): Promise<void> {
  const l = ctx.layout;
  await cleanupNode(l, ctx.bins);
  mkdirSync(l.runDir, { recursive: true });
  setupNodeNetwork(l);
  writeContainerdConfig(l, ctx.bins, { sandboxImage: ctx.images.pause, registryHost: ctx.registryHost });
  writeKubeletConfig(l, ctx.pki, ctx.apiserverUrl, ctx.caPem);

  const relay = ctx.start(registryRelay(l, ctx.logDir));
  const runtime = ctx.start(containerd(l, ctx.bins, ctx.logDir));
  await waitFor('containerd', async () => existsSync(l.containerdSocket) && ctrWorks(l, ctx.bins), { timeoutMs: 30_000, process: runtime });
  await waitFor('registry relay', async () => relayListening(l), { timeoutMs: 10_000, process: relay });
  log(`containerd ready; pods get addresses in ${l.subnet} on bridge ${l.bridge}`);

  createCgroupRoot(l);
  const agent = ctx.start(kubelet(l, ctx.bins, ctx.logDir));
  await waitFor(
    `kubelet (node ${l.name} Ready)`,
    async () => {
      const res = await ctx.api(`/api/v1/nodes/${l.name}`);
      if (res.status !== 200) return false;
      const node = JSON.parse(res.body) as { status?: { conditions?: { type: string; status: string }[] } };
      return node.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false;
    },
    { timeoutMs: 120_000, process: agent, intervalMs: 500 },
  );
}

/**
 * The kubelet's cgroup root must exist in every hierarchy (cgroup v1 mounts each controller on its own); cpuset
 * needs its CPUs and memory nodes copied from the parent before anything can join it.
 */
function createCgroupRoot(l: NodeLayout): void {
  for (const hierarchy of readdirSync(CGROUP_MOUNT)) {
    const parent = join(CGROUP_MOUNT, hierarchy);
    if (!existsSync(join(parent, 'cgroup.procs'))) continue;
    const dir = join(parent, l.cgroupRoot);
    mkdirSync(dir, { recursive: true });
    if (hierarchy === 'cpuset') {
      for (const file of ['cpuset.cpus', 'cpuset.mems']) writeFileSync(join(dir, file), readFileSync(join(parent, file), 'utf8'));
    }
  }
}

function ctrWorks(l: NodeLayout, bins: BinaryPaths): boolean {
  try {
    execFileSync(bins.ctr, ['--address', l.containerdSocket, 'version'], { stdio: 'ignore', timeout: 5000 });
    return true;
  } catch {
    return false;
  }
}

function relayListening(l: NodeLayout): boolean {
  const hex = l.ports.registryRelay.toString(16).toUpperCase().padStart(4, '0');
  const ip = l.nodeIp.split('.').map((o) => Number(o).toString(16).toUpperCase().padStart(2, '0')).reverse().join('');
  return execFileSync('cat', ['/proc/net/tcp'], { encoding: 'utf8' }).split('\n').some((line) => line.includes(`${ip}:${hex} 00000000:0000 0A`));
}

/**
 * Pods cannot reach 127.0.0.1 of the machine, where the registry listens: Kaniko (which pushes from a Pod) reaches
 * it at the node's address instead, through this relay (socat). The kubelet's containerd pulls from 127.0.0.1.
 */
function registryRelay(l: NodeLayout, logDir: string): StartOptions {
  return {
    name: 'registry-relay',
    binary: '/usr/bin/socat',
    logFile: join(logDir, 'registry-relay.log'),
    args: [`TCP-LISTEN:${l.ports.registryRelay},bind=${l.nodeIp},fork,reuseaddr`, `TCP:127.0.0.1:${l.ports.registry}`],
  };
}
