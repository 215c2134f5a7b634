import { InputError, schemaProblems, type SchemaProblem } from '@appserving/shared';
import type { FastifySchemaCompiler } from 'fastify';
import type { TSchema } from 'typebox';

/**
 * Validates requests with TypeBox's compiler instead of fastify's default Ajv setup, which would silently
 * strip unknown fields and coerce types. Unknown fields are refused by name; every problem names its field.
 * Strings Postgres cannot store (a NUL character, a lone UTF-16 surrogate) are refused here too, by field,
 * instead of failing in the database with a 500.
 */
export const typeboxValidatorCompiler: FastifySchemaCompiler<TSchema> = ({ schema, httpPart }) => {
  return (data: unknown) => {
    const problems = schemaProblems(schema, data, 20);
    if (problems.length === 0) problems.push(...unstorableStrings(data, 20));
    if (problems.length === 0) return { value: data };
    const where = httpPart === 'body' ? 'request body' : httpPart === 'params' ? 'path' : httpPart === 'querystring' ? 'query string' : String(httpPart);
    const summary = problems.map((p) => `${p.path === '/' ? where : p.path.slice(1)}: ${p.message}`).join('; ');
    return { error: new InputError('invalid_request', `invalid ${where}: ${summary}`, { details: { problems } }) };
  };
};

/** Strings (values and keys) with U+0000 or a lone surrogate, which Postgres text and jsonb refuse. Iterative. */
export function unstorableStrings(data: unknown, limit: number): SchemaProblem[] {
  const found: SchemaProblem[] = [];
  const bad = (s: string) => s.includes('\u0000') || !s.isWellFormed();
  const message = 'must not contain NUL characters or unpaired UTF-16 surrogates';
  const stack: { value: unknown; path: string }[] = [{ value: data, path: '' }];
  while (stack.length > 0 && found.length < limit) {
    const { value, path } = stack.pop() as { value: unknown; path: string };
    if (typeof value === 'string') {
      if (bad(value)) found.push({ path: path || '/', message });
    } else if (Array.isArray(value)) {
      value.forEach((item, i) => stack.push({ value: item, path: `${path}/${i}` }));
    } else if (value !== null && typeof value === 'object') {
      for (const [key, item] of Object.entries(value)) {
        const escaped = key.replaceAll('~', '~0').replaceAll('/', '~1');
        if (bad(key)) found.push({ path: `${path}/${escaped.toWellFormed().replaceAll('\u0000', '\\u0000')}`, message: `field name ${message}` });
        stack.push({ value: item, path: `${path}/${escaped}` });
      }
    }
  }
  return found;
}
