import Type from 'typebox';
import { describe, expect, it } from 'vitest';
import { ConfigError, describeSettings, loadConfig, setting } from './config.ts';
import { commonSettings } from './common.settings.ts';

describe('loadConfig', () => {
  it('uses defaults and converts strings to the schema types', () => {
    const config = loadConfig(commonSettings, { APPSERVING_CONSUMER_CONCURRENCY: '4', APPSERVING_LOG_LEVEL: 'debug' });
    expect(config.consumerConcurrency).toBe(4);
    expect(config.logLevel).toBe('debug');
    expect(config.natsUrl).toBe('nats://127.0.0.1:4222');
    expect(config.databaseUrl).toBe('postgres://postgres@127.0.0.1:5432/appserving');
  });

  it('reports every invalid value at once, each by its variable name', () => {
    const error = captureConfigError(() =>
      loadConfig(commonSettings, { APPSERVING_CONSUMER_CONCURRENCY: 'lots', APPSERVING_LOG_LEVEL: 'loud', APPSERVING_MAX_DELIVERIES: '0' }),
    );
    expect(error.problems).toHaveLength(3);
    expect(error.message).toContain('APPSERVING_CONSUMER_CONCURRENCY must be an integer between 1 and 1000, got "lots"');
    expect(error.message).toContain('APPSERVING_LOG_LEVEL must be one of "fatal", "error", "warn", "info", "debug", "trace", "silent", got "loud"');
    expect(error.message).toContain('APPSERVING_MAX_DELIVERIES must be an integer between 1 and 100, got "0"');
  });

  it('names a missing required setting', () => {
    const settings = { token: setting({ env: 'APPSERVING_TOKEN', schema: Type.String(), description: 'API token.', secret: true }) };
    const error = captureConfigError(() => loadConfig(settings, {}));
    expect(error.problems).toEqual(['APPSERVING_TOKEN is required: API token.']);
  });

  it('never echoes a secret value', () => {
    const error = captureConfigError(() => loadConfig(commonSettings, { APPSERVING_DATABASE_URL: 'mysql://root:hunter2@db/x' }));
    expect(error.message).toContain('APPSERVING_DATABASE_URL');
    expect(error.message).toContain('(value hidden)');
    expect(error.message).not.toContain('hunter2');
  });

  it('describes every setting in a Markdown table', () => {
    const table = describeSettings(commonSettings);
    for (const s of Object.values(commonSettings)) expect(table).toContain(`\`${s.env}\``);
    expect(table).toContain('`info`');
  });
});

function captureConfigError(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (error) {
    if (error instanceof ConfigError) return error;
    throw error;
  }
  throw new Error('expected a ConfigError');
}
