// Properties of the harness itself: versions, addressing, network hygiene, sharing one cluster per run.
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';
import { VersionApi } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { startCluster } from '../src/index.ts';
import { kube } from './helpers.ts';

const k = kube();

interface ListeningSocket { local: string; port: number }

/** TCP sockets in LISTEN state that belong to `pid` (from /proc/net/tcp{,6} and the process' fds). */
function listeningSockets(pid: number): ListeningSocket[] {
  const inodes = new Set<string>();
  for (const fd of readdirSync(`/proc/${pid}/fd`)) {
    try {
      const m = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`));
      if (m?.[1]) inodes.add(m[1]);
    } catch {
      // fd closed meanwhile
    }
  }
  const out: ListeningSocket[] = [];
  for (const file of ['/proc/net/tcp', '/proc/net/tcp6']) {
    for (const line of readFileSync(file, 'utf8').trim().split('\n').slice(1)) {
      const f = line.trim().split(/\s+/);
      const [addr, port] = (f[1] ?? '').split(':');
      if (f[3] !== '0A' || !inodes.has(f[9] ?? '')) continue;
      out.push({ local: decodeAddress(addr ?? ''), port: parseInt(port ?? '0', 16) });
    }
  }
  return out;
}

function decodeAddress(hex: string): string {
  if (hex.length === 8) return [0, 2, 4, 6].map((i) => parseInt(hex.slice(i, i + 2), 16)).reverse().join('.');
  if (hex === '00000000000000000000000001000000') return '::1';
  if (hex === '0000000000000000FFFF00000100007F') return '::ffff:127.0.0.1';
  return hex === '0'.repeat(32) ? '::' : hex;
}

describe('local cluster harness', () => {
  it('runs the pinned Kubernetes version', async () => {
    const res = await k.kc.makeApiClient(VersionApi).getCode();
    expect(res.gitVersion).toBe(k.cluster.versions.K8S_VERSION);
  });

  it('has a kwok node addressed 127.0.0.1 whose kubelet endpoint is kwok\'s server', async () => {
    const node = await k.core.readNode({ name: k.cluster.nodeName });
    expect(node.status?.addresses?.find((a) => a.type === 'InternalIP')?.address).toBe('127.0.0.1');
    expect(node.status?.daemonEndpoints?.kubeletEndpoint?.Port).toBe(k.cluster.ports.kwok);
    expect(node.status?.conditions?.find((c) => c.type === 'Ready')?.status).toBe('True');
  });

  it('every process of the cluster listens on 127.0.0.1 only; the real node\'s kubelet and registry relay on the node\'s bridge address', () => {
    const state = JSON.parse(readFileSync(join(k.cluster.clusterDir, 'state.json'), 'utf8')) as { processes: { name: string; pid: number }[] };
    expect(state.processes.map((p) => p.name).sort()).toEqual(
      ['containerd', 'etcd', 'flagger', 'kube-apiserver', 'kube-controller-manager', 'kube-scheduler', 'kubelet', 'kwok', 'loadtester', 'prometheus', 'registry', 'registry-relay', 'traefik'],
    );
    const nodeIp = k.cluster.realNode?.nodeIp ?? 'none';
    const onBridge = new Set(['kubelet', 'registry-relay']);
    for (const p of state.processes) {
      const sockets = listeningSockets(p.pid);
      // containerd serves the kubelet on a unix socket; its streaming server (exec, port-forward) is on 127.0.0.1.
      if (p.name !== 'containerd') expect(sockets.length, `${p.name} listens somewhere`).toBeGreaterThan(0);
      for (const s of sockets) {
        const allowed = onBridge.has(p.name) ? `(127\\.0\\.0\\.1|${nodeIp.replace(/\./g, '\\.')})` : '(127\\.0\\.0\\.1|::1|::ffff:127\\.0\\.0\\.1)';
        expect(`${p.name} ${s.local}:${s.port}`).toMatch(new RegExp(` ${allowed}:\\d+$`));
      }
    }
  });

  it('a second start in the same run joins the running cluster, and releasing it keeps the cluster up', async () => {
    const again = await startCluster({ log: () => {} });
    expect(again.kubeconfigPath).toBe(k.cluster.kubeconfigPath);
    expect(again.apiserverUrl).toBe(k.cluster.apiserverUrl);
    await again.stop();
    const nodes = await k.core.listNode();
    expect(nodes.items.map((n) => n.metadata?.name)).toContain(k.cluster.nodeName);
  });
});
