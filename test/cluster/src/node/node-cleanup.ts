import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, rmdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { BinaryPaths } from '../versions.ts';
import type { NodeLayout } from './node-layout.ts';
import { teardownNodeNetwork } from './node-network.ts';

export const CGROUP_MOUNT = '/sys/fs/cgroup';

/** The cgroup v1 hierarchies the kubelet made directories in (each controller has its own on these machines). */
function hierarchies(): string[] {
  try {
    return readdirSync(CGROUP_MOUNT).filter((name) => existsSync(join(CGROUP_MOUNT, name, 'cgroup.procs')));
  } catch {
    return [];
  }
}

/** Every process in the cgroup subtree `root` (the pods' containers and their sandboxes). */
function cgroupProcesses(root: string): number[] {
  const pids = new Set<number>();
  const walk = (dir: string) => {
    let entries: string[];
    try {
      entries = readdirSync(dir, { withFileTypes: true }).filter((e) => e.isDirectory()).map((e) => e.name);
      for (const line of readFileSync(join(dir, 'cgroup.procs'), 'utf8').split('\n')) if (line) pids.add(Number(line));
    } catch {
      return;
    }
    for (const name of entries) walk(join(dir, name));
  };
  for (const h of hierarchies()) walk(join(CGROUP_MOUNT, h, root));
  return [...pids];
}

/** Directories of the subtree, deepest first, so they can be removed in order. */
function cgroupDirs(dir: string): string[] {
  let children: string[];
  try {
    children = readdirSync(dir, { withFileTypes: true }).filter((e) => e.isDirectory()).map((e) => join(dir, e.name));
  } catch {
    return [];
  }
  return [...children.flatMap(cgroupDirs), dir];
}

/**
 * Processes of this node that outlive what the cluster's state file records: containerd's shims (each in a process
 * group of its own) and, after a crash, the registry relay (found by its listen address).
 */
function strayProcesses(l: NodeLayout, bins: BinaryPaths): number[] {
  const found: number[] = [];
  const relayListen = `TCP-LISTEN:${l.ports.registryRelay},bind=${l.nodeIp},fork,reuseaddr`;
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const argv = readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0');
      const shim = (argv[0] === bins.containerdShim || argv[0]?.endsWith('/containerd-shim-runc-v2')) && argv.includes(l.containerdSocket);
      const relay = argv[0]?.endsWith('socat') && argv.includes(relayListen);
      if (shim || relay) found.push(Number(entry));
    } catch {
      // exited
    }
  }
  return found;
}

function kill(pids: readonly number[]): void {
  for (const pid of pids) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
}

/** Mount points under any of `dirs`, deepest first (mountinfo escapes spaces and such as octal). */
export function mountsUnder(dirs: readonly string[]): string[] {
  const points = readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .map((line) => line.split(' ')[4])
    .filter((p): p is string => p !== undefined)
    .map((p) => p.replace(/\\([0-7]{3})/g, (_, oct: string) => String.fromCharCode(parseInt(oct, 8))));
  return [...new Set(points.filter((p) => dirs.some((d) => p === d || p.startsWith(`${d}/`))))].sort((a, b) => b.length - a.length);
}

/**
 * Leaves no trace of the real node: kills every process of its pods (by cgroup) and containerd's shims, unmounts
 * everything under its directories (container root filesystems, kubelet volumes, network namespaces), removes its
 * cgroups, its bridge and packet filter rules, and its volatile state. Run after kubelet and containerd are stopped,
 * and before a start (a crashed run may have left any of it). Nothing under the node's directories may be deleted
 * before this has run: a bind mount would let the deletion reach the files it points at.
 */
export async function cleanupNode(l: NodeLayout, bins: BinaryPaths): Promise<void> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const pids = [...cgroupProcesses(l.cgroupRoot), ...strayProcesses(l, bins)];
    if (pids.length === 0) break;
    kill(pids);
    await sleep(100);
  }
  const left = [...cgroupProcesses(l.cgroupRoot), ...strayProcesses(l, bins)];
  if (left.length > 0) throw new Error(`real node: processes survived SIGKILL: ${left.join(', ')}`);
  for (const point of mountsUnder([l.dir, l.runDir])) {
    try {
      execFileSync('umount', ['--lazy', point], { stdio: ['ignore', 'ignore', 'pipe'] });
    } catch (err) {
      const stderr = (err as { stderr?: Buffer }).stderr?.toString() ?? '';
      if (!/not mounted|no mount point/.test(stderr)) throw new Error(`real node: cannot unmount ${point}: ${stderr.trim()}`, { cause: err });
    }
  }
  const stuck = mountsUnder([l.dir, l.runDir]);
  if (stuck.length > 0) throw new Error(`real node: still mounted after unmounting: ${stuck.join(', ')}`);
  for (const h of hierarchies()) {
    for (const dir of cgroupDirs(join(CGROUP_MOUNT, h, l.cgroupRoot))) {
      try {
        rmdirSync(dir);
      } catch {
        // a cgroup that still has a task cannot go; its processes were killed above, so this is a race with exit
      }
    }
  }
  teardownNodeNetwork(l);
  rmSync(l.runDir, { recursive: true, force: true });
}
