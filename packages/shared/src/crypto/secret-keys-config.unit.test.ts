import { ConfigError } from '../config/index.ts';
import { generateSecretKeySpec } from './secret-box.ts';
import { describe, expect, it } from 'vitest';
import { secretBoxFromConfig } from './secret-keys-config.ts';

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
