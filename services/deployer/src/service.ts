import { fileURLToPath } from 'node:url';
import {
  ConfigError,
  consumers,
  createWorkerUnit,
  DEV_SECRET_KEY,
  parseSecretKeys,
  retryDuringStartup,
  secretBoxFromConfig,
  type ConfigOf,
  type ConsumerRunner,
  type Runtime,
  type ServiceUnit,
} from '@appserving/shared';
import { createClusterAccessProvider } from '@appserving/shared/kube';
import { openAppLocks } from './adapters/app-locks.ts';
import { openGateStore } from './adapters/gate-store.ts';
import { createHelm, sweepStaleWorkspaces } from './adapters/helm.ts';
import { createAppObjects } from './adapters/kube-objects.ts';
import type { deployerSettings } from './config.ts';
import { createGateTokens } from './domain/gate-token.ts';
import { deleteHandler } from './handlers/delete.handler.ts';
import { deployHandler } from './handlers/deploy.handler.ts';
import { abortHandler, promoteHandler } from './handlers/gate.handler.ts';
import { flaggerWebhookRoutes } from './routes/flagger-webhooks.routes.ts';

export type DeployerConfig = ConfigOf<typeof deployerSettings>;

/** The app chart shipped with the deployer. */
export const appChartDir = fileURLToPath(new URL('../chart', import.meta.url));

/**
 * The deployer: consumes deploy, promote, abort and delete commands, runs helm against the target clusters, and
 * answers Flagger's promotion and rollback webhooks on its ops port (docs/deployer.md).
 */
export function createDeployer(runtime: Runtime, config: DeployerConfig): ServiceUnit {
  const { box } = secretBoxFromConfig(config);
  const tokens = createGateTokens((config.secretKeys ? parseSecretKeys(config.secretKeys) : [DEV_SECRET_KEY]).map((k) => k.key));
  const clusters = createClusterAccessProvider({ db: runtime.database.db, box });
  const helm = createHelm({ binary: config.helmBinary, timeoutMs: config.helmTimeoutMs });
  const log = runtime.log.child({ component: 'deployer' });
  const settings = {
    ...config,
    webhookBaseUrl: config.deployerWebhookUrl || `http://127.0.0.1:${config.httpPort}`,
  };
  let runner: ConsumerRunner | undefined;
  let unit: ServiceUnit | undefined;

  return {
    name: 'deployer',
    async start() {
      const helmVersion = await helm.version().catch((error: unknown) => {
        throw new ConfigError([`APPSERVING_HELM_BINARY ${JSON.stringify(config.helmBinary)} cannot be run: ${error instanceof Error ? error.message.split('\n')[0] : String(error)}`]);
      });
      const swept = await sweepStaleWorkspaces(Math.max(2 * config.helmTimeoutMs, 3_600_000));
      if (swept > 0) log.info({ swept }, 'removed helm workspaces left by a deployer that died');
      const startup = { log, timeoutMs: config.natsConnectTimeoutMs };
      const [gates, locks] = await Promise.all([
        retryDuringStartup('opening the promotion gates bucket', () => openGateStore(runtime.messaging.js), startup),
        retryDuringStartup('opening the app locks bucket', () => openAppLocks(runtime.messaging.js), startup),
      ]);
      const publisher = runtime.messaging.publisher;
      const common = { db: runtime.database.db, clusters, helm, locks, gates, publisher, objects: createAppObjects };
      runner = runtime.messaging.consumer(consumers.deployer, [
        deployHandler({ ...common, box, tokens, chartDir: appChartDir, settings }),
        promoteHandler({ gates, publisher }),
        abortHandler({ gates, publisher }),
        deleteHandler({ ...common, settings }),
      ]);
      unit = createWorkerUnit({
        name: 'deployer',
        runtime,
        httpHost: config.httpHost,
        httpPort: config.httpPort,
        runners: [runner],
        routes: (server) => flaggerWebhookRoutes(server, { gates, tokens, publisher, log }),
      });
      await unit.start();
      log.info({ webhookBaseUrl: settings.webhookBaseUrl, trafficProvider: config.trafficProvider, helm: config.helmBinary, helmVersion }, 'deployer ready');
    },
    stopConsuming: (graceMs) => unit?.stopConsuming(graceMs) ?? Promise.resolve(),
    closeServer: () => unit?.closeServer() ?? Promise.resolve(),
  };
}
