import { ConfigError, generateSecretKeySpec, loadConfig } from '@appserving/shared';
import { describe, expect, it } from 'vitest';
import { gatewaySettings } from '../config.ts';
import { secretBoxFromConfig } from './secret-keys.ts';

const local = 'postgres://postgres@127.0.0.1:5432/appserving';

describe('secretBoxFromConfig', () => {
  it('uses the configured keys, the first one to encrypt', () => {
    const keys = `${generateSecretKeySpec('new')},${generateSecretKeySpec('old')}`;
    const { box, developmentKey } = secretBoxFromConfig({ secretKeys: keys, databaseUrl: 'postgres://db.internal/appserving' });
    expect(developmentKey).toBe(false);
    expect(box.currentKeyId).toBe('new');
  });

  it('falls back to the development key only for a database on this machine', () => {
    for (const url of [local, 'postgres://u@localhost/x', 'postgres://u@[::1]:5432/x']) {
      const setup = secretBoxFromConfig({ secretKeys: '', databaseUrl: url });
      expect(setup.developmentKey, url).toBe(true);
      expect(setup.box.currentKeyId).toBe('dev');
    }
    expect(() => secretBoxFromConfig({ secretKeys: '', databaseUrl: 'postgres://u:pw@db.example.com/x' })).toThrow(ConfigError);
    expect(() => secretBoxFromConfig({ secretKeys: '', databaseUrl: 'postgres://u@127.0.0.1.example.com/x' })).toThrow(/APPSERVING_SECRET_KEYS is required/);
  });

  it('names the variable when a key id repeats', () => {
    const spec = generateSecretKeySpec('k1');
    expect(() => secretBoxFromConfig({ secretKeys: `${spec},${spec}`, databaseUrl: local })).toThrow(/APPSERVING_SECRET_KEYS key id "k1" is given twice/);
  });
});

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
