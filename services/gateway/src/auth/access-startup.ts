import type { Database, Logger, PodPlacement, SecretBox } from '@appserving/shared';
import type { AllowlistEntry } from '@appserving/shared/artifacts';
import type { Kysely } from 'kysely';
import { registerLocalCluster } from '../adapters/cluster.repository.ts';
import { bootstrapAdminToken, type AdminBootstrap } from './api-tokens.ts';

export interface AccessStartupConfig {
  adminToken: string;
  localClusterKubeconfig: string;
  localClusterPrometheusUrl: string;
  localClusterPlacement: PodPlacement;
  /** APPSERVING_CLUSTER_HOST_ALLOWLIST, parsed: the local cluster's proxy or non-loopback private hosts need it too. */
  clusterHosts?: readonly AllowlistEntry[];
}

/**
 * The gateway's start-up steps for access: the first admin token, then the `local` cluster. Run after the
 * database is migrated and before listening. Secrets are never passed to the log: a generated admin token goes
 * to stderr (or to `announce`, for tests).
 */
export async function prepareAccess(deps: {
  db: Kysely<Database>;
  box: SecretBox;
  config: AccessStartupConfig;
  log: Logger;
  developmentKey: boolean;
  announce?: (token: string) => void;
}): Promise<{ admin: AdminBootstrap['outcome']; localClusterId: string | undefined }> {
  const { db, box, config, log } = deps;
  if (deps.developmentKey) {
    log.warn(
      { keyId: box.currentKeyId },
      'APPSERVING_SECRET_KEYS is not set: kubeconfigs and app secrets are encrypted with the public development key; set real keys before storing anything that matters (docs/auth.md)',
    );
  }
  const admin = await bootstrapAdminToken(db, {
    configured: config.adminToken,
    ...(deps.announce ? { announce: deps.announce } : {}),
  });
  if (admin.outcome === 'generated') log.warn({ tokenId: admin.tokenId }, 'no admin token existed: one was generated and printed to stderr once');
  if (admin.outcome === 'configured') log.info({ tokenId: admin.tokenId }, 'admin token from APPSERVING_ADMIN_TOKEN stored (hashed)');

  let localClusterId: string | undefined;
  if (config.localClusterKubeconfig !== '') {
    const local = await registerLocalCluster(db, box, config.localClusterKubeconfig, {
      prometheusUrl: config.localClusterPrometheusUrl || null,
      placement: emptyPlacement(config.localClusterPlacement) ? null : config.localClusterPlacement,
      allowlist: config.clusterHosts ?? [],
    });
    localClusterId = local.id;
    log.info({ clusterId: local.id, apiServerUrl: local.apiServerUrl, created: local.created }, 'local cluster registered');
  }
  return { admin: admin.outcome, localClusterId };
}

function emptyPlacement(p: PodPlacement): boolean {
  return Object.keys(p.node_selector ?? {}).length === 0 && (p.tolerations ?? []).length === 0;
}
