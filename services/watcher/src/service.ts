import { consumers, createWorkerUnit, type Runtime, type ServiceUnit } from '@appserving/shared';
import { createProjectionHandlers } from './handlers/projection.handler.ts';

/**
 * The watcher follows releases and records history. So far it runs the projection (commands and events into
 * the timeline); rollout informers and diagnosis come with the watcher issue.
 */
export function createWatcher(runtime: Runtime, config: { httpHost: string; httpPort: number }): ServiceUnit {
  const projection = createProjectionHandlers({ db: runtime.database.db });
  return createWorkerUnit({
    name: 'watcher',
    runtime,
    httpHost: config.httpHost,
    httpPort: config.httpPort,
    runners: [
      runtime.messaging.consumer(consumers.projectionCommands, projection.commands),
      runtime.messaging.consumer(consumers.projectionEvents, projection.events),
    ],
  });
}
