// Start-up of the deployer on a real NATS and Postgres: a helm binary that cannot run stops it with a message naming
// the setting, before it consumes anything.
import { ConfigError, createLogger, createRuntime, loadConfig } from '@appserving/shared';
import { createThrowawayDatabase, freePort, startTestNatsServer } from '@appserving/shared/testing';
import { describe, expect, it } from 'vitest';
import { deployerSettings } from './config.ts';
import { createDeployer } from './service.ts';

describe('deployer start-up', () => {
  it('refuses to start when the helm binary cannot be run, naming APPSERVING_HELM_BINARY', async () => {
    const nats = await startTestNatsServer();
    const database = await createThrowawayDatabase(process.env.APPSERVING_TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres');
    try {
      const config = loadConfig(deployerSettings, {
        APPSERVING_NATS_URL: nats.url,
        APPSERVING_DATABASE_URL: database.url,
        APPSERVING_HELM_BINARY: '/nonexistent/helm',
        APPSERVING_DEPLOYER_PORT: String(await freePort()),
      });
      const runtime = await createRuntime({ service: 'deployer', config, log: createLogger({ service: 'deployer-test', level: 'silent' }) });
      try {
        const started = createDeployer(runtime, config).start();
        await expect(started).rejects.toBeInstanceOf(ConfigError);
        await expect(started).rejects.toThrow(/APPSERVING_HELM_BINARY "\/nonexistent\/helm" cannot be run/);
      } finally {
        await runtime.drainNats();
        await runtime.closeDatabase();
      }
    } finally {
      await nats.dispose();
      await database.drop();
    }
  });
});
