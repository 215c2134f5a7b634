import { createWorkerUnit, type Runtime, type ServiceUnit } from '@appserving/shared';

/**
 * The builder turns artifacts into images (Kaniko Pods or a direct layer push). Its durable consumer exists from the first start of any service (the catalog's
 * topology), so commands published now wait there; the handlers that consume them come with the builder issue.
 */
export function createBuilder(runtime: Runtime, config: { httpHost: string; httpPort: number }): ServiceUnit {
  return createWorkerUnit({ name: 'builder', runtime, httpHost: config.httpHost, httpPort: config.httpPort, runners: [] });
}
