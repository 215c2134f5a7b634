import { NotFoundError } from '@appserving/shared';

/** Who is calling, as the auth plugin established it from the bearer token. */
export interface Principal {
  readonly tokenId: string;
  /** Admin tokens reach every project and manage clusters, projects and tokens. */
  readonly isAdmin: boolean;
  /** The live projects this token is scoped to (empty for admin tokens, which reach all). */
  readonly projectIds: readonly string[];
}

/**
 * The projects a caller may see: `'all'` for an admin, otherwise its project ids (possibly none, in which
 * case a list query should return nothing rather than build an empty `in ()`). `null` (no principal, which
 * only happens on open routes) sees nothing.
 */
export function visibleProjectIds(principal: Principal | null): readonly string[] | 'all' {
  if (principal === null) return [];
  return principal.isAdmin ? 'all' : principal.projectIds;
}

export function canAccessProject(principal: Principal | null, projectId: string | null): boolean {
  if (principal === null) return false;
  if (principal.isAdmin) return true;
  // Apps created before projects existed belong to no project: only admins reach them.
  return projectId !== null && principal.projectIds.includes(projectId);
}

/**
 * Refuses access to another project's resource with the very error a missing one gets, so a caller cannot
 * learn that it exists. Pass the error your route throws for a missing resource; the default is the apps one.
 */
export function assertProjectAccess(
  principal: Principal | null,
  projectId: string | null,
  notFound: () => NotFoundError = () => new NotFoundError('app_not_found', 'no such app'),
): void {
  if (!canAccessProject(principal, projectId)) throw notFound();
}
