// pnpm cluster:up | cluster:down | cluster:status — the local cluster for people (tests use global-setup.ts).
import { clusterStatus, realNodeWanted, startCluster, stopCluster } from './cluster.ts';
import { ensureNodeImages } from './node/node-images.ts';
import { ensureDebianPackages } from './prerequisites.ts';
import { binaryPaths, readVersions } from './versions.ts';
import { localPlatformSettings, shellExports } from './platform-settings.ts';

function usage(info: NonNullable<Awaited<ReturnType<typeof clusterStatus>>['info']>, seconds?: number): string {
  const bin = info.kubectlBinary.replace(/\/kubectl$/, '');
  return [
    '',
    `Local Kubernetes ${info.versions.K8S_VERSION} is running${seconds ? ` (started in ${seconds.toFixed(1)} s)` : ''}.`,
    '',
    `  export KUBECONFIG=${info.kubeconfigPath}`,
    `  export PATH=${bin}:${info.helmBinary.replace(/\/helm$/, '')}:$PATH   # kubectl and helm built for this cluster`,
    '  kubectl get nodes',
    '',
    `  API server   ${info.apiserverUrl}`,
    `  Registry     ${info.registryUrl}   (images: ${info.registryHost}/<name>:<tag>, plain HTTP)`,
    `  Prometheus   ${info.prometheusUrl}   (remote write: ${info.prometheusUrl}/api/v1/write)`,
    `  Logs         ${info.clusterDir}/logs/`,
    ...(info.realNode
      ? [`  Real node    ${info.realNode.name} (pods on ${info.realNode.subnet}; tainted: only pods that ask for it run there)`]
      : ['  Real node    none (started with APPSERVING_CLUSTER_REAL_NODE=0): every pod is simulated']),
    '',
    'Tests started now reuse this cluster. Stop it with: pnpm cluster:down',
    '',
  ].join('\n');
}

async function main(command: string | undefined): Promise<number> {
  switch (command) {
    case 'up': {
      await startCluster({ persistent: true });
      const status = await clusterStatus();
      if (!status.info) throw new Error('cluster started but left no state');
      process.stdout.write(usage(status.info, status.startSeconds));
      return 0;
    }
    case 'down': {
      const stopped = await stopCluster();
      process.stdout.write(stopped ? 'cluster stopped; no process left behind\n' : 'no cluster was running\n');
      return 0;
    }
    case 'status': {
      const status = await clusterStatus();
      if (!status.info) {
        process.stdout.write('no cluster\n');
        return 1;
      }
      const total = Object.values(status.rssKiB).reduce((a, b) => a + b, 0);
      process.stdout.write(status.running ? usage(status.info) : 'cluster state found, but it is not healthy (run pnpm cluster:down)\n');
      process.stdout.write(`users: ${status.persistent ? 'persistent' : ''} ${status.owners.join(' ')}\nmemory (RSS):\n`);
      for (const [name, kib] of Object.entries(status.rssKiB)) process.stdout.write(`  ${name.padEnd(24)} ${(kib / 1024).toFixed(0).padStart(5)} MiB\n`);
      process.stdout.write(`  ${'total'.padEnd(24)} ${(total / 1024).toFixed(0).padStart(5)} MiB\n`);
      return status.running ? 0 : 1;
    }
    case 'images': {
      // The real node's Debian packages and images, built once (scripts/test.sh runs this before the tests, so a
      // cold machine shows the build's progress outside of the test run).
      if (!realNodeWanted()) return 0;
      const versions = readVersions();
      const log = (line: string) => process.stderr.write(`[cluster] ${line}\n`);
      ensureDebianPackages(versions, log, { node: true });
      // `images debian`: only those made from Debian's packages, which need no binary of the build.
      const only = process.argv[3] === 'debian' ? (['curl', 'jre', 'tomcat', 'python'] as const) : undefined;
      await ensureNodeImages(versions, binaryPaths(versions), log, only);
      return 0;
    }
    case 'env': {
      // The platform's settings for this cluster, as shell exports (scripts/start.sh evaluates them).
      const status = await clusterStatus();
      if (!status.info || !status.running) {
        process.stderr.write('no healthy local cluster: start it with pnpm cluster:up\n');
        return 1;
      }
      const builder = Number(process.argv[3] ?? process.env.APPSERVING_BUILDER_PORT ?? 9113);
      process.stdout.write(`${shellExports(localPlatformSettings(status.info, { builder }))}\n`);
      return 0;
    }
    default:
      process.stderr.write('usage: node src/cli.ts up|down|status|images [debian]|env [builder port]\n');
      return 2;
  }
}

main(process.argv[2]).then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`cluster: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  },
);
