import { createHmac, hkdfSync, timingSafeEqual } from 'node:crypto';

/**
 * The token in a release's Flagger webhook URLs: HMAC-SHA256 over `<app id>/<release id>` with a key derived
 * from the platform's secret keys. Only who can read the Canary (Flagger, cluster admins) knows it, so nobody
 * else can open or close a release's gate. Every configured key verifies, so rotating the keys does not break
 * the gates of releases in flight; the first key signs.
 */
export interface GateTokens {
  tokenFor(appId: string, releaseId: string): string;
  verify(appId: string, releaseId: string, token: string): boolean;
}

export function createGateTokens(secretKeys: readonly Uint8Array[]): GateTokens {
  if (secretKeys.length === 0) throw new Error('at least one key is needed');
  const keys = secretKeys.map((key) => Buffer.from(hkdfSync('sha256', key, 'appserving', 'flagger-gate-webhook-token-v1', 32)));
  const sign = (key: Buffer, appId: string, releaseId: string) => createHmac('sha256', key).update(`${appId}/${releaseId}`).digest('base64url');
  return {
    tokenFor: (appId, releaseId) => sign(keys[0] as Buffer, appId, releaseId),
    verify(appId, releaseId, token) {
      const given = Buffer.from(token);
      return keys.some((key) => {
        const expected = Buffer.from(sign(key, appId, releaseId));
        return expected.length === given.length && timingSafeEqual(expected, given);
      });
    },
  };
}
