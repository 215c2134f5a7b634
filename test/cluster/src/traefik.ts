import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { stringify } from 'yaml';
import type { ClusterLayout } from './components.ts';
import type { StartOptions } from './processes.ts';

/**
 * The local traffic gateway: Traefik on this machine, implementing the Gateway API for the real node's pods
 * (ADR 0020). It listens on 127.0.0.1 only, reads Gateways, HTTPRoutes and EndpointSlices from the API server, and
 * sends each request straight to a pod address on the node's bridge (no kube-proxy, no Service address), by the
 * HTTPRoute's weights, which is what Flagger moves during a canary.
 *
 * Apps are exposed as `<app>-<namespace>.localhost` on one listener, so every app has a URL on 127.0.0.1
 * (browsers and curl resolve `*.localhost` to the loopback address themselves).
 */
export const LOCAL_GATEWAY = { namespace: 'appserving-system', name: 'local', className: 'appserving-local' } as const;

/** The host name suffix of apps on the local cluster (APPSERVING_APP_DOMAIN). */
export const LOCAL_APP_DOMAIN = 'localhost';

export function traefik(l: ClusterLayout): StartOptions {
  const config = join(l.dir, 'traefik.yaml');
  writeFileSync(
    config,
    stringify({
      entryPoints: { web: { address: `127.0.0.1:${l.ports.traefikWeb}` }, traefik: { address: `127.0.0.1:${l.ports.traefikAdmin}` } },
      // A new pod takes traffic within half a second of being ready (Traefik batches configuration changes).
      providers: { providersThrottleDuration: '500ms', kubernetesGateway: { statusAddress: { ip: '127.0.0.1' } } },
      ping: { entryPoint: 'traefik' },
      // Request duration buckets fine enough for a quick app's percentiles (Traefik's own, 0.1/0.3/1.2/5 s, put every
      // local answer in the first bucket: p50 50 ms, p99 99 ms by interpolation, whatever the app did).
      metrics: {
        prometheus: {
          entryPoint: 'traefik',
          addRoutersLabels: true,
          addServicesLabels: true,
          buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
        },
      },
      // Nothing leaves this machine: no version check, no usage statistics.
      global: { checkNewVersion: false, sendAnonymousUsage: false },
      log: { level: 'INFO' },
    }),
  );
  return {
    name: 'traefik',
    binary: l.bins.traefik,
    logFile: join(l.logDir, 'traefik.log'),
    // Its Kubernetes client reads KUBECONFIG (the admin kubeconfig of the harness, token auth, CA pinned).
    env: { ...process.env, KUBECONFIG: l.kubeconfigPath },
    args: [`--configFile=${config}`],
    cwd: l.dir,
  };
}

/**
 * Flagger's load tester on 127.0.0.1 (Flagger calls its webhook at every analysis step; it runs `hey` against the
 * canary through the traffic gateway, so the analysis has requests to judge even without users).
 */
export function loadTester(l: ClusterLayout): StartOptions {
  mkdirSync(join(l.dir, 'loadtester'), { recursive: true });
  return {
    name: 'loadtester',
    binary: l.bins.loadtester,
    logFile: join(l.logDir, 'loadtester.log'),
    // `hey` on its PATH; the load tester's own temporary files (none expected) in the state directory.
    env: { ...process.env, PATH: `${dirname(l.bins.hey)}:/usr/bin:/bin`, TMPDIR: join(l.dir, 'loadtester') },
    args: [`-port=${l.ports.loadTester}`, '-log-level=info', `-timeout=${60 * 60}s`],
    cwd: l.dir,
  };
}

/** The GatewayClass Traefik implements and the one Gateway every app of the local cluster attaches to. */
export function gatewayManifests(l: Pick<ClusterLayout, 'ports'>): Record<string, unknown>[] {
  return [
    { apiVersion: 'v1', kind: 'Namespace', metadata: { name: LOCAL_GATEWAY.namespace } },
    {
      apiVersion: 'gateway.networking.k8s.io/v1',
      kind: 'GatewayClass',
      metadata: { name: LOCAL_GATEWAY.className },
      spec: { controllerName: 'traefik.io/gateway-controller', description: 'Traefik on 127.0.0.1 of this machine (the local cluster harness)' },
    },
    {
      apiVersion: 'gateway.networking.k8s.io/v1',
      kind: 'Gateway',
      metadata: { name: LOCAL_GATEWAY.name, namespace: LOCAL_GATEWAY.namespace },
      spec: {
        gatewayClassName: LOCAL_GATEWAY.className,
        // Traefik serves a listener on its entry point of the same port.
        listeners: [{ name: 'web', port: l.ports.traefikWeb, protocol: 'HTTP', allowedRoutes: { namespaces: { from: 'All' } } }],
      },
    },
  ];
}
