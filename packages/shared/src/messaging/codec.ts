import type { TSchema } from 'typebox';
import { Compile, type Validator } from 'typebox/compile';
import { CloudEventEnvelope, messageTypeOf, type CloudEvent, type MessageType } from '../contracts/index.ts';
import { InputError } from '../errors/index.ts';

const validators = new Map<TSchema, Validator>();

function validatorOf(schema: TSchema): Validator {
  let validator = validators.get(schema);
  if (!validator) {
    validator = Compile(schema);
    validators.set(schema, validator);
  }
  return validator;
}

export interface SchemaProblem {
  path: string;
  message: string;
}

export function schemaProblems(schema: TSchema, value: unknown, limit = 10): SchemaProblem[] {
  const validator = validatorOf(schema);
  if (validator.Check(value)) return [];
  const errors = validator.Errors(value);
  // `anyOf`, `additionalProperties: false` ("schema is false") and `propertyNames` (the list of bad keys) errors
  // repeat what a more specific one says.
  const specific = errors.filter((e) => e.keyword !== 'anyOf' && e.keyword !== 'boolean' && e.keyword !== 'propertyNames');
  return (specific.length > 0 ? specific : errors)
    .flatMap((e) => {
      const unknown = (e.params as { additionalProperties?: unknown }).additionalProperties;
      if (e.keyword === 'additionalProperties' && Array.isArray(unknown)) {
        return unknown.map((field) => ({ path: `${e.instancePath}/${String(field)}`, message: 'unknown field' }));
      }
      return [{ path: e.instancePath || '/', message: describeError(schema, e) }];
    })
    .slice(0, limit);
}

/** A schema may carry `errorMessage`: the sentence to show when a value does not match it. */
function schemaAt(root: TSchema, schemaPath: string): Record<string, unknown> | undefined {
  let node: unknown = root;
  for (const token of schemaPath.replace(/^#\/?/, '').split('/').filter(Boolean)) {
    if (typeof node !== 'object' || node === null) return undefined;
    node = (node as Record<string, unknown>)[token.replaceAll('~1', '/').replaceAll('~0', '~')];
  }
  return typeof node === 'object' && node !== null ? (node as Record<string, unknown>) : undefined;
}

function describeError(root: TSchema, e: { message: string; keyword: string; params: unknown; schemaPath: string }): string {
  const custom = schemaAt(root, e.schemaPath)?.errorMessage;
  if (typeof custom === 'string') return custom;
  const params = e.params as Record<string, unknown>;
  if (e.keyword === 'additionalProperties' && Array.isArray(params.additionalProperties)) {
    return `unknown field(s): ${params.additionalProperties.join(', ')}`;
  }
  if (e.keyword === 'required' && Array.isArray(params.requiredProperties)) {
    return `missing required field(s): ${params.requiredProperties.join(', ')}`;
  }
  if (e.keyword === 'enum' && Array.isArray(params.allowedValues)) {
    return `must be one of ${params.allowedValues.map((v) => JSON.stringify(v)).join(', ')}`;
  }
  return e.message;
}

/** Encodes a CloudEvent after checking its data against its type's schema (a producer bug fails here). */
export function encodeCloudEvent(messageType: MessageType, event: CloudEvent): Uint8Array {
  const problems = dataProblems(messageType, event.data);
  if (problems.length > 0) {
    throw new InputError('invalid_data', `data of ${messageType.type} does not match its schema`, { details: { problems } });
  }
  return new TextEncoder().encode(JSON.stringify(event));
}

/**
 * Decodes and validates a message body against the types a consumer accepts. Every failure is an
 * InputError: the message can never be handled, so it goes to the dead-letter stream with the reason.
 */
export function decodeCloudEvent(
  body: Uint8Array,
  accepted: readonly MessageType[],
): { event: CloudEvent; messageType: MessageType } | { skipped: string } {
  let parsed: unknown;
  try {
    parsed = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(body));
  } catch (error) {
    throw new InputError('malformed_message', 'message body is not UTF-8 JSON', { cause: error });
  }
  const envelopeProblems = schemaProblems(CloudEventEnvelope, parsed);
  if (envelopeProblems.length > 0) {
    throw new InputError('invalid_envelope', 'message is not a CloudEvents 1.0 JSON envelope', { details: { problems: envelopeProblems } });
  }
  const event = parsed as CloudEvent;
  const messageType = accepted.find((t) => t.type === event.type);
  if (!messageType) {
    // Another consumer's business: a type of the catalog that this one does not handle.
    if (messageTypeOf(event.type)) return { skipped: event.type };
    throw new InputError('unknown_type', `message type ${event.type} is not in the catalog`, {
      details: { accepted: accepted.map((t) => t.type) },
    });
  }
  const problems = dataProblems(messageType, event.data);
  if (problems.length > 0) {
    throw new InputError('invalid_data', `data of ${event.type} does not match its schema: ${summary(problems)}`, { details: { problems } });
  }
  return { event, messageType };
}

/** The schema's problems with `data`, then (when it matches) those of the type's own rules (`problems`). */
export function dataProblems(messageType: MessageType, data: unknown): SchemaProblem[] {
  const problems = schemaProblems(messageType.data, data);
  if (problems.length > 0 || !messageType.problems) return problems;
  return messageType.problems(data).slice(0, 10);
}

function summary(problems: readonly SchemaProblem[]): string {
  return problems
    .slice(0, 3)
    .map((p) => `${p.path} ${p.message}`)
    .join('; ');
}
