import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { StartOptions } from '../processes.ts';
import type { BinaryPaths } from '../versions.ts';
import type { NodeLayout } from './node-layout.ts';

/** A TOML basic string (JSON's escaping is a subset TOML accepts). */
const str = (value: string) => JSON.stringify(value);

export interface ContainerdSettings {
  /** The sandbox image (made here, in the local registry): containerd never pulls registry.k8s.io/pause. */
  readonly sandboxImage: string;
  /** host:port of the local registry (plain HTTP on 127.0.0.1). */
  readonly registryHost: string;
}

/**
 * containerd 2 for the kubelet: its own socket, root and state (nothing under /var/lib/containerd or
 * /run/containerd but the shims' hashed socket names), runc as built here, cgroupfs (cgroup v1 on these machines),
 * the CNI network of node-network.ts, and the local registry over plain HTTP.
 *
 * `restrict_oom_score_adj`: these machines refuse a negative oom_score_adj, which the kubelet asks for the sandbox
 * of every pod; without it runc fails every sandbox with "can't get final child's PID from pipe: EOF".
 */
export function writeContainerdConfig(l: NodeLayout, bins: BinaryPaths, s: ContainerdSettings): void {
  mkdirSync(dirname(l.containerdConfig), { recursive: true });
  const config = `# Written by the local cluster harness (test/cluster/src/node/containerd.ts) at every start.
version = 3
root = ${str(l.containerdRoot)}
state = ${str(l.containerdState)}
disabled_plugins = ["io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.zfs", "io.containerd.snapshotter.v1.devmapper", "io.containerd.snapshotter.v1.blockfile", "io.containerd.snapshotter.v1.erofs", "io.containerd.nri.v1.nri", "io.containerd.tracing.processor.v1.otlp", "io.containerd.internal.v1.tracing"]

[grpc]
  address = ${str(l.containerdSocket)}

[ttrpc]
  address = ${str(`${l.containerdSocket}.ttrpc`)}

[debug]
  level = "warn"

[plugins."io.containerd.internal.v1.opt"]
  path = ${str(join(l.containerdRoot, 'opt'))}

[plugins."io.containerd.grpc.v1.cri"]
  stream_server_address = "127.0.0.1"
  stream_server_port = "0"

[plugins."io.containerd.cri.v1.images"]
  snapshotter = "overlayfs"
  [plugins."io.containerd.cri.v1.images".pinned_images]
    sandbox = ${str(s.sandboxImage)}
  [plugins."io.containerd.cri.v1.images".registry]
    config_path = ${str(l.registryHostsDir)}

[plugins."io.containerd.cri.v1.runtime"]
  enable_selinux = false
  disable_apparmor = true
  restrict_oom_score_adj = true
  netns_mounts_under_state_dir = true
  [plugins."io.containerd.cri.v1.runtime".cni]
    bin_dirs = ["/usr/lib/cni"]
    conf_dir = ${str(l.cniConfDir)}
    max_conf_num = 1
  [plugins."io.containerd.cri.v1.runtime".containerd]
    default_runtime_name = "runc"
    [plugins."io.containerd.cri.v1.runtime".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.cri.v1.runtime".containerd.runtimes.runc.options]
        BinaryName = ${str(bins.runc)}
        Root = ${str(join(l.runDir, 'runc'))}
        SystemdCgroup = false
`;
  writeFileSync(l.containerdConfig, config);
  writeRegistryHosts(l, s.registryHost);
}

/** containerd's per-registry settings (certs.d): the local registry speaks plain HTTP. */
function writeRegistryHosts(l: NodeLayout, registryHost: string): void {
  const dir = join(l.registryHostsDir, registryHost);
  mkdirSync(dir, { recursive: true });
  writeFileSync(
    join(dir, 'hosts.toml'),
    `server = ${str(`http://${registryHost}`)}\n\n[host.${str(`http://${registryHost}`)}]\n  capabilities = ["pull", "resolve", "push"]\n`,
  );
}

export function containerd(l: NodeLayout, bins: BinaryPaths, logDir: string): StartOptions {
  return {
    name: 'containerd',
    binary: bins.containerd,
    logFile: join(logDir, 'containerd.log'),
    args: ['--config', l.containerdConfig],
    // containerd finds its shim on PATH; the shim finds nothing else there (runc is named by BinaryName).
    env: { ...process.env, PATH: `${dirname(bins.containerdShim)}:/usr/sbin:/usr/bin:/sbin:/bin` },
  };
}
