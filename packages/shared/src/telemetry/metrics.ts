import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** The Prometheus registry of one process, with the metrics the shared code records. */
export interface Metrics {
  registry: Registry;
  messagesHandled: Counter<'consumer' | 'outcome'>;
  messageHandlingSeconds: Histogram<'consumer'>;
  messagesInFlight: Gauge<'consumer'>;
  deadLetters: Counter<'consumer'>;
  published: Counter<'subject' | 'outcome'>;
}

export function createMetrics(service: string): Metrics {
  const registry = new Registry();
  registry.setDefaultLabels({ service });
  collectDefaultMetrics({ register: registry });
  return {
    registry,
    messagesHandled: new Counter({
      name: 'appserving_messages_handled_total',
      help: 'Messages handled by a consumer, by outcome (ack, nak, term).',
      labelNames: ['consumer', 'outcome'],
      registers: [registry],
    }),
    messageHandlingSeconds: new Histogram({
      name: 'appserving_message_handling_seconds',
      help: 'Time a handler took per message.',
      labelNames: ['consumer'],
      buckets: [0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 30, 120],
      registers: [registry],
    }),
    messagesInFlight: new Gauge({
      name: 'appserving_messages_in_flight',
      help: 'Messages being handled right now.',
      labelNames: ['consumer'],
      registers: [registry],
    }),
    deadLetters: new Counter({
      name: 'appserving_dead_letters_total',
      help: 'Messages recorded in the dead-letter stream.',
      labelNames: ['consumer'],
      registers: [registry],
    }),
    published: new Counter({
      name: 'appserving_messages_published_total',
      help: 'Messages published, by outcome (stored, duplicate, failed).',
      labelNames: ['subject', 'outcome'],
      registers: [registry],
    }),
  };
}
