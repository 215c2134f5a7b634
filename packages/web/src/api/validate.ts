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
