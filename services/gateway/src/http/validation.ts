import { InputError, schemaProblems } from '@appserving/shared';
import type { FastifySchemaCompiler } from 'fastify';
import type { TSchema } from 'typebox';

/**
 * Validates requests with TypeBox's compiler instead of fastify's default Ajv setup, which would silently
 * strip unknown fields and coerce types. Unknown fields are refused by name; every problem names its field.
 */
export const typeboxValidatorCompiler: FastifySchemaCompiler<TSchema> = ({ schema, httpPart }) => {
  return (data: unknown) => {
    const problems = schemaProblems(schema, data, 20);
    if (problems.length === 0) return { value: data };
    const where = httpPart === 'body' ? 'request body' : httpPart === 'params' ? 'path' : httpPart === 'querystring' ? 'query string' : String(httpPart);
    const summary = problems.map((p) => `${p.path === '/' ? where : p.path.slice(1)}: ${p.message}`).join('; ');
    return { error: new InputError('invalid_request', `invalid ${where}: ${summary}`, { details: { problems } }) };
  };
};
