import type { ClusterInfo } from './cluster.ts';

export interface LocalPlatformPorts {
  /** The builder's port (APPSERVING_BUILDER_PORT); build Pods reach the same port on the node's address. */
  readonly builder: number;
}

/**
 * The AppServing settings (environment variables) that make the platform deploy to this local cluster the way a
 * new user expects: apps and builds on the real node, images in the local registry built on the node's runtimes,
 * apps reachable through the local traffic gateway. One definition for `scripts/start.sh` (`cluster.ts env`) and
 * the test harness (test/support/platform.ts), so both run the platform the same way.
 */
export function localPlatformSettings(info: ClusterInfo, ports: LocalPlatformPorts): Record<string, string> {
  const settings: Record<string, string> = {
    APPSERVING_LOCAL_CLUSTER_KUBECONFIG: info.kubeconfigPath,
    APPSERVING_LOCAL_CLUSTER_PROMETHEUS_URL: info.prometheusUrl,
    APPSERVING_REGISTRY: info.registryHost,
    APPSERVING_REGISTRY_PLAIN_HTTP: 'true',
    APPSERVING_HELM_BINARY: info.helmBinary,
  };
  const node = info.realNode;
  if (!node) return settings;
  return {
    ...settings,
    APPSERVING_LOCAL_CLUSTER_PLACEMENT: JSON.stringify({
      node_selector: node.placement.nodeSelector,
      tolerations: node.placement.tolerations,
    }),
    // Build Pods reach the registry and the builder at the node's address (pods cannot reach 127.0.0.1).
    APPSERVING_BUILD_POD_REGISTRY: node.registryHostForPods,
    APPSERVING_BUILDER_POD_LISTEN: `${node.nodeIp}:${ports.builder}`,
    APPSERVING_BUILDER_PUBLIC_URL: `http://${node.nodeIp}:${ports.builder}`,
    APPSERVING_BASE_IMAGE_JAR: node.images.jre,
    APPSERVING_BASE_IMAGE_WAR: node.images.tomcat,
    APPSERVING_BASE_IMAGE_PYTHON: node.images.python,
    APPSERVING_KANIKO_IMAGE: node.images.kaniko,
    APPSERVING_BUILD_FETCH_IMAGE: node.images.curl,
    // Every app gets an HTTPRoute on the local traffic gateway: http://<app>-<namespace>.localhost:<port>/.
    APPSERVING_APP_GATEWAY: node.trafficGateway.gateway,
    APPSERVING_APP_DOMAIN: node.trafficGateway.domain,
    APPSERVING_APP_URL: `${node.trafficGateway.url.replace('127.0.0.1', '{host}')}/`,
    // Canary and blue-green analysis on the gateway's own request metrics (Prometheus scrapes Traefik), with
    // Flagger's load tester sending the new version a steady 10 requests/s through the gateway (the local demo has
    // no users of its own).
    APPSERVING_ANALYSIS_METRICS: 'traefik',
    APPSERVING_LOAD_TESTER_URL: node.trafficGateway.loadTesterUrl,
    APPSERVING_ANALYSIS_LOAD_RPS: '10',
    APPSERVING_APP_GATEWAY_ADDRESS: node.trafficGateway.url,
  };
}

/** The same settings as `export NAME='value'` lines for a shell (values single-quoted). */
export function shellExports(settings: Record<string, string>): string {
  return Object.entries(settings)
    .map(([name, value]) => `export ${name}='${value.replace(/'/g, `'\\''`)}'`)
    .join('\n');
}
