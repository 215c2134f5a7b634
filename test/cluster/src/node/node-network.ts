import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { POD_CIDR, SERVICE_CIDR } from '../components.ts';
import type { NodeLayout } from './node-layout.ts';

function run(cmd: string, args: readonly string[]): string {
  return execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

function tryRun(cmd: string, args: readonly string[]): boolean {
  try {
    run(cmd, args);
    return true;
  } catch {
    return false;
  }
}

/**
 * The node's network, made before the kubelet starts: a bridge with the node's address, and one packet filter
 * chain that keeps pod traffic on this machine (a packet from the bridge may go to another pod on the bridge or
 * to the node's own address, never out through another interface, whatever the machine's ip_forward says).
 */
export function setupNodeNetwork(l: NodeLayout): void {
  teardownNodeNetwork(l);
  const prefix = l.subnet.split('/')[1];
  run('ip', ['link', 'add', 'name', l.bridge, 'type', 'bridge']);
  run('ip', ['addr', 'add', `${l.nodeIp}/${prefix}`, 'dev', l.bridge]);
  run('ip', ['link', 'set', l.bridge, 'up']);
  run('iptables', ['-w', '-N', l.filterChain]);
  run('iptables', ['-w', '-A', l.filterChain, '-i', l.bridge, '-o', l.bridge, '-j', 'ACCEPT']);
  run('iptables', ['-w', '-A', l.filterChain, '-i', l.bridge, '-j', 'REJECT']);
  run('iptables', ['-w', '-I', 'FORWARD', '-j', l.filterChain]);
  // The simulated node's pod and Service addresses are fake: should anything ever dial one (a route to a kwok
  // pod's Service on the traffic gateway), it goes nowhere instead of out of the machine.
  for (const cidr of FAKE_CIDRS) run('ip', ['route', 'replace', 'blackhole', cidr]);
  writeCniConfig(l);
}

/** The kwok node's pod range and the Service range: API data only. */
const FAKE_CIDRS = [POD_CIDR, SERVICE_CIDR] as const;

/** Removes what setupNodeNetwork made; safe to call when none of it exists. */
export function teardownNodeNetwork(l: NodeLayout): void {
  while (tryRun('iptables', ['-w', '-D', 'FORWARD', '-j', l.filterChain])) {
    // a crashed run may have inserted the jump more than once
  }
  tryRun('iptables', ['-w', '-F', l.filterChain]);
  tryRun('iptables', ['-w', '-X', l.filterChain]);
  tryRun('ip', ['link', 'del', l.bridge]);
  for (const cidr of FAKE_CIDRS) tryRun('ip', ['route', 'del', 'blackhole', cidr]);
}

/** True when the bridge exists (a node of this port block was set up and not torn down). */
export function nodeNetworkExists(l: NodeLayout): boolean {
  return tryRun('ip', ['link', 'show', l.bridge]);
}

/**
 * One CNI network: Debian's bridge and host-local plugins (containerd sets up each pod's loopback itself). No
 * masquerading: pod traffic is never meant to leave the machine.
 */
function writeCniConfig(l: NodeLayout): void {
  mkdirSync(l.cniConfDir, { recursive: true });
  const conf = {
    cniVersion: '1.0.0',
    name: `appserving-${l.ports.apiserver}`,
    plugins: [
      {
        type: 'bridge',
        bridge: l.bridge,
        isGateway: true,
        ipMasq: false,
        hairpinMode: true,
        ipam: {
          type: 'host-local',
          ranges: [[{ subnet: l.subnet, gateway: l.nodeIp, rangeStart: l.nodeIp.replace(/\.1$/, '.10') }]],
          routes: [{ dst: '0.0.0.0/0' }],
          dataDir: l.cniDataDir,
        },
      },
    ],
  };
  writeFileSync(join(l.cniConfDir, '10-appserving.conflist'), JSON.stringify(conf, null, 2));
}
