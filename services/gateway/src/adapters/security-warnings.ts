import { acceptsAnonymousClients } from '@appserving/shared';

/**
 * What an operator must hear about the platform's own security at start, and sees in `/readyz` (`warnings`) for as
 * long as the gateway runs: neither stops the platform (both are the normal state of a laptop), but neither may go
 * unnoticed in production (docs/operations.md, "Security warnings").
 *
 * - NATS takes a client with no credentials: any process that reaches it may publish commands (deploy, delete) as
 *   if it were the gateway, and read every event. Found by connecting once without credentials.
 * - The secret box uses the public development key: kubeconfigs and app secrets at rest are as good as plain text.
 */
export async function securityWarnings(deps: {
  developmentKey: boolean;
  natsUrl: string;
  acceptsAnonymous?: (servers: string) => Promise<boolean>;
}): Promise<string[]> {
  const warnings: string[] = [];
  if (deps.developmentKey) {
    warnings.push('APPSERVING_SECRET_KEYS is not set: kubeconfigs and app secrets are encrypted with the public development key (docs/auth.md)');
  }
  if (await (deps.acceptsAnonymous ?? acceptsAnonymousClients)(deps.natsUrl)) {
    // The URL without any user:password@ part (credentials are never logged).
    const servers = deps.natsUrl.replace(/\/\/[^@/]*@/g, '//');
    warnings.push(
      `NATS at ${servers} accepts clients without credentials: any process that reaches it may publish commands to the platform; give NATS users or credentials (APPSERVING_NATS_USER or APPSERVING_NATS_CREDS_FILE; docs/operations.md)`,
    );
  }
  return warnings;
}
