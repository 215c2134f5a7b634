import Type, { type TSchema } from 'typebox';
import type { FieldProblem } from './field-rules.ts';

/**
 * CloudEvents 1.0, structured JSON mode. Every command and event on NATS is one of these; `type` names the
 * message and its data version (`dev.appserving.command.build.v1`), `data` follows that version's schema.
 */
export const CloudEventEnvelope = Type.Object(
  {
    specversion: Type.Literal('1.0'),
    id: Type.String({ minLength: 1, maxLength: 256 }),
    source: Type.String({ minLength: 1, maxLength: 1024 }),
    type: Type.String({ minLength: 1, maxLength: 256 }),
    subject: Type.Optional(Type.String({ maxLength: 1024 })),
    time: Type.Optional(Type.String({ format: 'date-time' })),
    datacontenttype: Type.Optional(Type.Literal('application/json')),
    dataschema: Type.Optional(Type.String({ maxLength: 1024 })),
    data: Type.Unknown(),
  },
  // CloudEvents allows extension attributes (lowercase alphanumeric names).
  { additionalProperties: true },
);
export type CloudEventEnvelope = Type.Static<typeof CloudEventEnvelope>;

export interface CloudEvent<D = unknown> extends CloudEventEnvelope {
  data: D;
}

/** One versioned message type: its CloudEvents `type`, its `data` schema, and where it is published. */
export interface MessageType<S extends TSchema = TSchema> {
  /** CloudEvents `type`, ending in the data version: `dev.appserving.command.build.v1`. */
  readonly type: string;
  readonly data: S;
  /** NATS subject for one app: the last token is the app id, so consumers and subscribers can filter by app. */
  readonly subject: (appId: string) => string;
  /** The wildcard that matches every subject of this type. */
  readonly subjectPattern: string;
  readonly description: string;
  /**
   * What the schema cannot say about `data` (relations between fields, sizes of the whole): checked after the
   * schema, by producers before publishing and by every consumer, like the schema itself.
   */
  readonly problems?: (data: Type.Static<S>) => FieldProblem[];
}

export function messageType<S extends TSchema>(definition: {
  type: string;
  data: S;
  subjectPrefix: string;
  description: string;
  problems?: (data: Type.Static<S>) => FieldProblem[];
}): MessageType<S> {
  return {
    type: definition.type,
    data: definition.data,
    subject: (appId) => `${definition.subjectPrefix}.${appId}`,
    subjectPattern: `${definition.subjectPrefix}.*`,
    description: definition.description,
    ...(definition.problems ? { problems: definition.problems } : {}),
  };
}

export const dataSchemaUri = (type: string) => `urn:appserving:schema:${type}`;

export function createCloudEvent<S extends TSchema>(
  messageType: MessageType<S>,
  fields: { id: string; source: string; subject?: string; time?: Date; data: Type.Static<S> },
): CloudEvent<Type.Static<S>> {
  return {
    specversion: '1.0',
    id: fields.id,
    source: fields.source,
    type: messageType.type,
    ...(fields.subject === undefined ? {} : { subject: fields.subject }),
    time: (fields.time ?? new Date()).toISOString(),
    datacontenttype: 'application/json',
    dataschema: dataSchemaUri(messageType.type),
    data: fields.data,
  };
}
