import type { TFunction } from 'i18next';
import Value from 'typebox/value';
import type { TSchema } from 'typebox';
import schemas from '../generated/api-schemas.json';

export type SchemaName = keyof typeof schemas;

/**
 * Checks a request body against the gateway's own schema for it (src/generated/api-schemas.json, written from
 * services/gateway/src/schemas by the build). Returns the first problem per field, keyed by its top-level
 * field name ('' for the body itself); the form shows a translated message for it.
 */
export function schemaProblems(name: SchemaName, body: unknown): Record<string, string> {
  const schema = schemas[name] as unknown as TSchema;
  const problems: Record<string, string> = {};
  for (const error of Value.Errors(schema, body)) {
    const path = error.instancePath.split('/').filter(Boolean);
    const required = error.keyword === 'required' ? (error.params as { requiredProperties?: string[] }).requiredProperties?.[0] : undefined;
    const field = path[0] ?? required ?? '';
    problems[field] ??= error.keyword;
  }
  return problems;
}

/**
 * The form's messages for a body: an empty required field says so; any other problem gets the field's own
 * message (what the API accepts there), in the console's language. `formField` maps a body field to its input.
 */
export function schemaMessages(name: SchemaName, body: unknown, t: TFunction, formField: (bodyField: string) => string = (field) => field): Record<string, string> {
  const messages: Record<string, string> = {};
  for (const [field, keyword] of Object.entries(schemaProblems(name, body))) {
    messages[formField(field)] = keyword === 'required' || keyword === 'minLength' ? t('validation.required') : t(`validation.${field}`, { defaultValue: t('validation.invalid') });
  }
  return messages;
}
