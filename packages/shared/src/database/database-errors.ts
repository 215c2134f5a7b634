const UNIQUE_VIOLATION = '23505';

/**
 * Whether `error` is Postgres refusing a duplicate, optionally on one named constraint or unique index
 * (see `CONSTRAINTS`), e.g. a second active operation for an app, which the gateway answers with 409.
 */
export function isUniqueViolation(error: unknown, constraint?: string): boolean {
  if (typeof error !== 'object' || error === null) return false;
  const { code, constraint: violated } = error as { code?: unknown; constraint?: unknown };
  return code === UNIQUE_VIOLATION && (constraint === undefined || violated === constraint);
}
