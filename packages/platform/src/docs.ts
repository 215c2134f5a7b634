import { allMessageTypes, CloudEventEnvelope, commandTypes, consumers, dataSchemaUri, describeSettings, streams, type MessageType } from '@appserving/shared';
import { platformSettings } from './platform-settings.ts';

/** The configuration reference, generated from the settings every service validates at start. */
export function configurationReference(): string {
  return describeSettings(platformSettings);
}

/** An AsyncAPI 3.0 document of every subject, message and consumer, generated from the catalog. */
export function asyncApiDocument(): Record<string, unknown> {
  const channels: Record<string, unknown> = {};
  const messages: Record<string, unknown> = {};
  const operations: Record<string, unknown> = {};
  const commandSet = new Set<string>(commandTypes.map((t) => t.type));
  for (const type of allMessageTypes) {
    const key = type.type.replace(/^dev\.appserving\./, '').replaceAll('.', '-');
    const stream = Object.values(streams).find((s) => s.subjects.some((p) => type.subjectPattern.startsWith(p.replace('>', ''))));
    messages[key] = {
      name: type.type,
      title: type.type,
      summary: type.description,
      contentType: 'application/cloudevents+json',
      headers: {
        type: 'object',
        properties: {
          'Nats-Msg-Id': { type: 'string', description: 'Equals the CloudEvent id; a repeat within the stream\'s duplicate window is dropped.' },
          traceparent: { type: 'string', description: 'W3C trace context.' },
        },
      },
      payload: {
        allOf: [
          CloudEventEnvelope,
          {
            type: 'object',
            required: ['type', 'data'],
            properties: { type: { const: type.type }, dataschema: { const: dataSchemaUri(type.type) }, data: type.data },
          },
        ],
      },
    };
    channels[key] = {
      address: type.subjectPattern.replace(/\*$/, '{appId}'),
      description: `${type.description} Stored in stream ${stream?.name ?? '?'}.`,
      parameters: { appId: { description: 'The app the message is about (uuid).' } },
      messages: { [key]: { $ref: `#/components/messages/${key}` } },
    };
    const readers = Object.values(consumers).filter((c) => (c.messageTypes as readonly MessageType[]).includes(type));
    operations[`${commandSet.has(type.type) ? 'send' : 'publish'}-${key}`] = {
      action: commandSet.has(type.type) ? 'receive' : 'send',
      channel: { $ref: `#/channels/${key}` },
      summary: commandSet.has(type.type)
        ? `AppServing acts on this command (consumers: ${readers.map((c) => c.name).join(', ')}). Any system may publish it.`
        : `AppServing publishes this event (recorded by ${readers.map((c) => c.name).join(', ') || 'no consumer'}). Subscribe to follow along.`,
    };
  }
  return {
    asyncapi: '3.0.0',
    info: {
      title: 'AppServing messages',
      version: '1.0.0',
      description:
        'Commands and events on NATS JetStream, each a CloudEvents 1.0 JSON envelope (structured mode) whose `type` ends in the data version. Generated from packages/shared/src/contracts/catalog.ts by `pnpm docs:generate`.',
    },
    defaultContentType: 'application/cloudevents+json',
    servers: { local: { host: '127.0.0.1:4222', protocol: 'nats', description: 'NATS with JetStream' } },
    channels,
    operations,
    components: { messages },
  };
}
