import { ConfigError, generateSecretKeySpec, loadConfig } from '@appserving/shared';
import { describe, expect, it } from 'vitest';
import { gatewaySettings } from './config.ts';

describe('gateway auth settings', () => {
  it('default to empty and accept well-formed values', () => {
    const defaults = loadConfig(gatewaySettings, {});
    expect([defaults.adminToken, defaults.secretKeys, defaults.localClusterKubeconfig]).toEqual(['', '', '']);
    const keys = `${generateSecretKeySpec('2026-05')}, ${generateSecretKeySpec('old')}`;
    const config = loadConfig(gatewaySettings, { APPSERVING_SECRET_KEYS: keys, APPSERVING_ADMIN_TOKEN: 'x'.repeat(32) });
    expect(config.secretKeys).toBe(keys);
  });

  it('refuse malformed secrets without echoing them', () => {
    const shortKey = `k1:${Buffer.alloc(16, 7).toString('base64')}`;
    let message = '';
    try {
      loadConfig(gatewaySettings, { APPSERVING_SECRET_KEYS: shortKey, APPSERVING_ADMIN_TOKEN: 'too-short-token' });
    } catch (error) {
      expect(error).toBeInstanceOf(ConfigError);
      message = (error as ConfigError).message;
    }
    expect(message).toContain('APPSERVING_SECRET_KEYS');
    expect(message).toContain('APPSERVING_ADMIN_TOKEN');
    expect(message).not.toContain(shortKey.slice(3));
    expect(message).not.toContain('too-short-token');
  });
});
