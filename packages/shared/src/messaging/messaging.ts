import { jetstream, jetstreamManager, type JetStreamClient, type JetStreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/nats-core';
import { consumers, streams, type ConsumerDefinition } from '../contracts/index.ts';
import type { RetryPolicy } from '../errors/index.ts';
import type { Logger } from '../logging/index.ts';
import type { Metrics } from '../telemetry/index.ts';
import { createConsumerRunner, type ConsumerRunner, type Handler } from './consumer-runner.ts';
import { createPublisher, type Publisher } from './publisher.ts';
import { ensureConsumer, ensureStream } from './topology.ts';

export interface MessagingSettings {
  consumerConcurrency: number;
  ackWaitMs: number;
  retry: RetryPolicy;
}

export interface Messaging {
  nc: NatsConnection;
  js: JetStreamClient;
  jsm: JetStreamManager;
  publisher: Publisher;
  /**
   * Ensures every stream and every durable consumer of the catalog. Idempotent. Every service ensures all of
   * them, so whichever starts first creates them all and no command is missed by a consumer that did not
   * exist yet when it was published.
   */
  ensureTopology(): Promise<void>;
  /** Creates (but does not start) a runner for one of this process's consumers. */
  consumer(definition: ConsumerDefinition, handlers: readonly Handler[]): ConsumerRunner;
}

export async function createMessaging(deps: {
  nc: NatsConnection;
  source: string;
  settings: MessagingSettings;
  log: Logger;
  metrics?: Metrics;
}): Promise<Messaging> {
  const { nc, settings, log } = deps;
  const js = jetstream(nc);
  const jsm = await jetstreamManager(nc);
  const consumerSettings = { ackWaitMs: settings.ackWaitMs, maxAckPending: Math.max(1_000, settings.consumerConcurrency * 4) };

  async function ensureTopology(): Promise<void> {
    for (const stream of Object.values(streams)) {
      const result = await ensureStream(jsm, stream);
      if (result !== 'unchanged') log.info({ stream: stream.name, result }, 'stream ensured');
    }
    for (const definition of Object.values(consumers)) {
      const result = await ensureConsumer(jsm, definition, consumerSettings);
      if (result !== 'unchanged') log.info({ consumer: definition.name, result }, 'consumer ensured');
    }
  }

  return {
    nc,
    js,
    jsm,
    publisher: createPublisher({ js, source: deps.source, ...(deps.metrics ? { metrics: deps.metrics } : {}) }),
    ensureTopology,
    consumer: (definition, handlers) =>
      createConsumerRunner({
        js,
        definition,
        handlers,
        concurrency: settings.consumerConcurrency,
        retry: settings.retry,
        ackWaitMs: settings.ackWaitMs,
        log,
        ...(deps.metrics ? { metrics: deps.metrics } : {}),
        ensureTopology,
      }),
  };
}
