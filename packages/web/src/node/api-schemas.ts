import { CreateProjectBody, CreateTokenBody, RegisterClusterBody } from '../../../../services/gateway/src/schemas/access.schemas.ts';
import { CreateAppBody, UpdateAppBody } from '../../../../services/gateway/src/schemas/app.schemas.ts';

/**
 * The request schemas of the REST API, as plain JSON Schema, for the console's forms: the browser validates a
 * form with the very schema the gateway validates the request with (TypeBox checks both), so a field the
 * console accepts is one the API accepts. Written to src/generated/api-schemas.json by `pnpm build`; a unit
 * test fails when the committed copy differs from the gateway's schemas.
 */
export function apiSchemas(): string {
  const schemas = { CreateAppBody, UpdateAppBody, CreateProjectBody, CreateTokenBody, RegisterClusterBody };
  return `${JSON.stringify(schemas, null, 2)}\n`;
}
