import { createWorkerUnit, type Runtime, type ServiceUnit } from '@appserving/shared';

/**
 * The deployer runs helm and drives Flagger gates. Its durable consumer exists from the first start of any service (the catalog's
 * topology), so commands published now wait there; the handlers that consume them come with the deployer issue.
 */
export function createDeployer(runtime: Runtime, config: { httpHost: string; httpPort: number }): ServiceUnit {
  return createWorkerUnit({ name: 'deployer', runtime, httpHost: config.httpHost, httpPort: config.httpPort, runners: [] });
}
