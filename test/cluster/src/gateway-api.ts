import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { goModuleDir } from './go-modules.ts';
import { readVersions } from './versions.ts';

/**
 * The Gateway API's standard CRDs, read from the Go module cache like Flagger's: Flagger's `gatewayapi:v1` provider
 * creates and weights HTTPRoutes, and Traefik (the local traffic gateway, traefik.ts) implements them for the real
 * node's pods; its provider watches every kind listed here.
 */
export const GATEWAY_API_CRD_NAMES = ['gatewayclasses', 'gateways', 'httproutes', 'grpcroutes', 'referencegrants', 'backendtlspolicies'].map(
  (r) => `${r}.gateway.networking.k8s.io`,
);

export function gatewayApiCrdFiles(version = readVersions().GATEWAY_API_VERSION): string[] {
  const dir = join(goModuleDir('sigs.k8s.io/gateway-api', version), 'config', 'crd', 'standard');
  return GATEWAY_API_CRD_NAMES.map((name) => join(dir, `gateway.networking.k8s.io_${name.split('.')[0]}.yaml`));
}

/**
 * Applies the Gateway API CRDs to a running cluster and waits until they are Established (idempotent: a cluster
 * started before they were part of the start-up gets them on first use).
 */
export function ensureGatewayApiCrds(cluster: { kubectlBinary: string; kubeconfigPath: string }): void {
  const kubectl = (...args: string[]) =>
    execFileSync(cluster.kubectlBinary, [`--kubeconfig=${cluster.kubeconfigPath}`, ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  kubectl('apply', '--server-side', '--force-conflicts', ...gatewayApiCrdFiles().flatMap((f) => ['-f', f]));
  kubectl('wait', '--for=condition=Established', '--timeout=60s', ...GATEWAY_API_CRD_NAMES.map((n) => `crd/${n}`));
}
