import { ConfigError } from '../config/index.ts';
import { createSecretBox, DEV_SECRET_KEY, parseSecretKeys, SecretBoxError, type SecretBox } from './secret-box.ts';

export interface SecretBoxSetup {
  box: SecretBox;
  /** True when the fixed development key is in use (the caller logs a warning). */
  developmentKey: boolean;
}

/**
 * The secret box from APPSERVING_SECRET_KEYS. Unset, it falls back to the fixed development key, but only when
 * the database is on this machine (127.0.0.1, ::1 or localhost): a deployment with a remote database must
 * configure real keys, and fails to start otherwise, naming the variable.
 */
export function secretBoxFromConfig(config: { secretKeys: string; databaseUrl: string }): SecretBoxSetup {
  if (config.secretKeys === '') {
    if (!isLoopbackDatabase(config.databaseUrl)) {
      throw new ConfigError([
        'APPSERVING_SECRET_KEYS is required when the database is not on 127.0.0.1: set it to keyId:base64key (32 random bytes, e.g. `openssl rand -base64 32`); see docs/auth.md',
      ]);
    }
    return { box: createSecretBox([DEV_SECRET_KEY]), developmentKey: true };
  }
  try {
    return { box: createSecretBox(parseSecretKeys(config.secretKeys)), developmentKey: false };
  } catch (error) {
    if (error instanceof SecretBoxError) throw new ConfigError([`APPSERVING_SECRET_KEYS ${error.message}`]);
    throw error;
  }
}

function isLoopbackDatabase(databaseUrl: string): boolean {
  try {
    const host = new URL(databaseUrl).hostname;
    return host === '127.0.0.1' || host === '[::1]' || host === 'localhost';
  } catch {
    return false;
  }
}
