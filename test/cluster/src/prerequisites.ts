import { execFileSync, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { goBinary } from './go-modules.ts';
import { binaryPaths, packageDir } from './versions.ts';
import type { Versions } from './versions.ts';

const DEBIAN_BINARIES: Record<string, string> = {
  prometheus: '/usr/bin/prometheus',
  'docker-registry': '/usr/bin/docker-registry',
  'containernetworking-plugins': '/usr/lib/cni/bridge',
  iptables: '/usr/sbin/iptables',
  'libseccomp-dev': '/usr/include/seccomp.h',
  socat: '/usr/bin/socat',
  mmdebstrap: '/usr/bin/mmdebstrap',
  'openjdk-17-jdk-headless': '/usr/bin/javac',
  'libtomcat10-java': '/usr/share/java/tomcat10-servlet-api.jar',
};

/** Installs the Debian packages (Prometheus, registry, and the real node's) when missing; CI machines may be fresh. */
export function ensureDebianPackages(v: Versions, log: (line: string) => void, opts: { node: boolean } = { node: true }): void {
  const node = opts.node ? `${v.DEBIAN_NODE_PACKAGES} ${v.DEBIAN_TEST_APP_PACKAGES}`.split(/\s+/).filter(Boolean) : [];
  const wanted = [v.DEBIAN_PROMETHEUS_PACKAGE, v.DEBIAN_REGISTRY_PACKAGE, ...node];
  const missing = wanted.filter((pkg) => !existsSync(DEBIAN_BINARIES[pkg] ?? `/usr/bin/${pkg}`));
  if (missing.length === 0) return;
  log(`installing Debian packages: ${missing.join(' ')}`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  const install = () =>
    execFileSync('apt-get', ['-o', 'DPkg::Lock::Timeout=300', 'install', '-y', '--no-install-recommends', ...missing], { env, stdio: ['ignore', 'ignore', 'pipe'] });
  try {
    install();
  } catch {
    try {
      execFileSync('apt-get', ['-o', 'DPkg::Lock::Timeout=300', 'update'], { env, stdio: ['ignore', 'ignore', 'pipe'] });
      install();
    } catch (err) {
      const stderr = (err as { stderr?: Buffer }).stderr?.toString() ?? String(err);
      throw new Error(`cannot install ${missing.join(', ')} (apt-get install -y ${missing.join(' ')}): ${stderr.trim()}`, { cause: err });
    }
  }
  for (const pkg of missing) {
    if (!existsSync(DEBIAN_BINARIES[pkg] ?? `/usr/bin/${pkg}`)) throw new Error(`${pkg}: installed, but ${DEBIAN_BINARIES[pkg]} is missing`);
  }
}

/** Runs scripts/build.sh when any cached binary is missing (a cold build prints its progress). */
export async function ensureBinaries(v: Versions, log: (line: string) => void): Promise<void> {
  const bins = binaryPaths(v);
  const missing = Object.entries(bins).filter(([, path]) => !existsSync(path));
  if (missing.length === 0) return;
  log(`building missing binaries (${missing.map(([name]) => name).join(', ')}); a cold build takes 10-20 minutes`);
  const go = goBinary();
  if (!existsSync(go)) {
    throw new Error(`cannot build ${missing.map(([name]) => name).join(', ')}: no Go toolchain (looked for ${go})`);
  }
  const code = await new Promise<number>((resolve, reject) => {
    const child = spawn('bash', [join(packageDir, 'scripts', 'build.sh')], { stdio: ['ignore', 2, 2], env: { ...process.env, GO: go } });
    child.on('error', reject);
    child.on('exit', (c) => resolve(c ?? 1));
  });
  const stillMissing = Object.entries(bins).filter(([, path]) => !existsSync(path));
  if (code !== 0 || stillMissing.length > 0) {
    throw new Error(`building the cluster binaries failed (bash scripts/build.sh exited ${code}); missing: ${stillMissing.map(([n]) => n).join(', ') || 'none'}`);
  }
}
