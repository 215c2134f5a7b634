import Type from 'typebox';
import { AppMetricsRequestV1, AppMetricsV1 } from './app-metrics.ts';

/**
 * Request/reply subjects (core NATS, not streams): questions one service answers for another, such as the
 * gateway asking the watcher (which holds the cluster connections) for an app's pod logs. A reply is either
 * `{ ok: true, data }` or `{ ok: false, error: { code, message } }` with the closed error codes of
 * packages/shared/src/errors.
 */
export interface RpcDefinition<Req extends Type.TSchema = Type.TSchema, Res extends Type.TSchema = Type.TSchema> {
  readonly subject: string;
  readonly request: Req;
  readonly response: Res;
  readonly description: string;
}

export const PodLogsRequestV1 = Type.Object(
  {
    app_id: Type.String({ format: 'uuid' }),
    /** Only pods of this release; default the app's pods of any release. */
    release_id: Type.Optional(Type.String({ format: 'uuid' })),
    tail_lines: Type.Integer({ minimum: 1, maximum: 5000 }),
    /** Logs of the previous container instance (after a crash). */
    previous: Type.Boolean(),
  },
  { additionalProperties: false },
);
export type PodLogsRequestV1 = Type.Static<typeof PodLogsRequestV1>;

export const PodLogsResponseV1 = Type.Object(
  {
    pods: Type.Array(
      Type.Object(
        {
          name: Type.String(),
          release_id: Type.Union([Type.String(), Type.Null()]),
          phase: Type.String(),
          container: Type.String(),
          lines: Type.Array(Type.String()),
          /** Why no lines could be read (e.g. the container has not started), when that happened. */
          error: Type.Optional(Type.String()),
        },
        { additionalProperties: false },
      ),
    ),
  },
  { additionalProperties: false },
);
export type PodLogsResponseV1 = Type.Static<typeof PodLogsResponseV1>;

export const rpcs = {
  podLogs: {
    subject: 'appserving.rpc.logs.v1',
    request: PodLogsRequestV1,
    response: PodLogsResponseV1,
    description: 'The last lines of an app\'s pod logs; answered by the watcher (queue group `watcher`).',
  },
  appMetrics: {
    subject: 'appserving.rpc.metrics.v1',
    request: AppMetricsRequestV1,
    response: AppMetricsV1,
    description: 'An app\'s metrics per track over a time range, read from its cluster\'s Prometheus; answered by the watcher (queue group `watcher`).',
  },
} as const satisfies Record<string, RpcDefinition>;
