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

/**
 * Whether `error` is Postgres refusing a statement for what it asked (a constraint, a bad value, a deadlock or
 * serialization failure): the statement was rolled back and wrote nothing. A lost connection or a server
 * shutting down is not: the statement may have committed before the answer was lost.
 */
export function isRefusedByPostgres(error: unknown): boolean {
  if (typeof error !== 'object' || error === null) return false;
  const { code, severity } = error as { code?: unknown; severity?: unknown };
  // SQLSTATE classes: 22 data exception, 23 integrity constraint, 40 transaction rollback, 42 syntax or access
  // rule, P0 PL/pgSQL raise.
  return typeof severity === 'string' && typeof code === 'string' && /^(22|23|40|42|P0)[0-9A-Z]{3}$/.test(code);
}

/**
 * Whether Postgres rolled a transaction back because it met a concurrent one (a deadlock, or a serialization
 * failure): it wrote nothing, and the same transaction run again will most likely go through.
 */
export function isTransactionConflict(error: unknown): boolean {
  if (typeof error !== 'object' || error === null) return false;
  const { code } = error as { code?: unknown };
  return code === '40P01' || code === '40001';
}
