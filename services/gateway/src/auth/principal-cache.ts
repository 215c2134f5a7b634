import type { NatsConnection, Subscription } from '@nats-io/nats-core';
import type { Principal } from './principal.ts';

/**
 * Principals of recently seen tokens, so that a busy client's requests do not each look their token up in
 * Postgres. An entry lives `ttlMs`; revoking a token drops its entries at once in this process, and on every
 * other gateway replica through `appserving.gateway.token-revoked` (core NATS, see service.ts). If that
 * message is lost, the entry still expires after `ttlMs`: the longest a revoked token can keep working.
 */
export interface PrincipalCache {
  get(tokenHash: string): Principal | undefined;
  set(tokenHash: string, principal: Principal): void;
  forgetToken(tokenId: string): void;
}

/** Subject on which a gateway announces a revoked token id to the other replicas. */
export const TOKEN_REVOKED_SUBJECT = 'appserving.gateway.token-revoked';

export function createPrincipalCache(options: { ttlMs: number; maxEntries?: number; now?: () => number }): PrincipalCache | undefined {
  if (options.ttlMs <= 0) return undefined;
  const maxEntries = options.maxEntries ?? 10_000;
  const now = options.now ?? Date.now;
  // Map iteration order is insertion order: the first key is the oldest entry.
  const entries = new Map<string, { principal: Principal; until: number }>();
  return {
    get(tokenHash) {
      const entry = entries.get(tokenHash);
      if (!entry) return undefined;
      if (entry.until > now()) return entry.principal;
      entries.delete(tokenHash);
      return undefined;
    },
    set(tokenHash, principal) {
      entries.delete(tokenHash);
      if (entries.size >= maxEntries) {
        const oldest = entries.keys().next();
        if (!oldest.done) entries.delete(oldest.value);
      }
      entries.set(tokenHash, { principal, until: now() + options.ttlMs });
    },
    forgetToken(tokenId) {
      for (const [hash, entry] of entries) if (entry.principal.tokenId === tokenId) entries.delete(hash);
    },
  };
}

/**
 * Shares revocations between gateway replicas over core NATS: revocations announced by others drop the token
 * from `cache`; the returned function announces one of ours. Returns the subscription to close at shutdown.
 */
export function shareRevocations(nc: NatsConnection, cache: PrincipalCache): { announce: (tokenId: string) => void; subscription: Subscription } {
  const subscription = nc.subscribe(TOKEN_REVOKED_SUBJECT, {
    callback: (error, msg) => {
      if (!error) cache.forgetToken(msg.string());
    },
  });
  return { announce: (tokenId) => nc.publish(TOKEN_REVOKED_SUBJECT, tokenId), subscription };
}
