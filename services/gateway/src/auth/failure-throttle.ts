/**
 * Failed authentications per client address, in fixed windows: past `limit` failures in one window, the address
 * is throttled until the window ends. Tokens are 256 random bits, so this is not what keeps them from being
 * guessed; it keeps a client that keeps presenting bad credentials (a flood, a misconfigured job) from costing a
 * database lookup and a log line each time.
 *
 * A throttled address still gets through with a token that authenticated recently (`proven`): a person or job
 * sharing the address (a NAT, a CI host) is not locked out by its neighbour. Memory is bounded: at most
 * `maxAddresses` addresses and as many proven tokens (their hashes) are kept, oldest first forgotten.
 */
export interface AuthFailureThrottle {
  /** Milliseconds until the address may try again; 0 when it is not throttled. */
  blockedFor(address: string): number;
  /** Counts one failed authentication from the address. */
  failed(address: string): void;
  /** Remembers a credential (its hash) that just authenticated. */
  succeeded(credentialHash: string): void;
  /** Whether the credential authenticated within the last hour: it passes a throttled address (and is still checked). */
  proven(credentialHash: string): boolean;
}

const PROVEN_FOR_MS = 60 * 60_000;

export function createAuthFailureThrottle(options: { limit: number; windowMs: number; maxAddresses?: number; now?: () => number }): AuthFailureThrottle {
  const now = options.now ?? Date.now;
  const maxAddresses = options.maxAddresses ?? 10_000;
  const windows = new Map<string, { count: number; start: number }>();
  const provenAt = new Map<string, number>();

  function current(address: string): { count: number; start: number } | undefined {
    const entry = windows.get(address);
    if (entry && now() - entry.start >= options.windowMs) {
      windows.delete(address);
      return undefined;
    }
    return entry;
  }

  return {
    blockedFor(address) {
      const entry = current(address);
      if (!entry || entry.count < options.limit) return 0;
      return Math.max(1, entry.start + options.windowMs - now());
    },
    failed(address) {
      const entry = current(address);
      if (entry) {
        entry.count += 1;
        return;
      }
      if (windows.size >= maxAddresses) {
        const oldest = windows.keys().next().value;
        if (oldest !== undefined) windows.delete(oldest);
      }
      windows.set(address, { count: 1, start: now() });
    },
    succeeded(credentialHash) {
      provenAt.delete(credentialHash);
      if (provenAt.size >= maxAddresses) {
        const oldest = provenAt.keys().next().value;
        if (oldest !== undefined) provenAt.delete(oldest);
      }
      provenAt.set(credentialHash, now());
    },
    proven(credentialHash) {
      const at = provenAt.get(credentialHash);
      return at !== undefined && now() - at < PROVEN_FOR_MS;
    },
  };
}
