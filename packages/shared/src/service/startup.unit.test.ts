import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../config/config.ts';
import { InputError } from '../errors/index.ts';
import { retryDuringStartup } from './startup.ts';

const log = pino({ level: 'silent' });

describe('retryDuringStartup', () => {
  it('tries again while a dependency is away, and returns what the step returns once it is back', async () => {
    let attempts = 0;
    const result = await retryDuringStartup('ensuring streams', async () => {
      attempts += 1;
      if (attempts < 3) throw new Error('TimeoutError: timeout');
      return 'ensured';
    }, { log, timeoutMs: 10_000, maxDelayMs: 10 });
    expect(result).toBe('ensured');
    expect(attempts).toBe(3);
  });

  it('gives up after the timeout, naming the step and keeping the last error as the cause', async () => {
    let attempts = 0;
    const error = await retryDuringStartup('migrating the database', async () => {
      attempts += 1;
      throw new Error('connect ECONNREFUSED 127.0.0.1:5432');
    }, { log, timeoutMs: 50, maxDelayMs: 10 }).catch((e: unknown) => e as Error);
    expect(error.message).toMatch(/^migrating the database: still failing after \d+ attempts$/);
    expect((error.cause as Error).message).toContain('ECONNREFUSED');
    expect(attempts).toBeGreaterThan(1);
  });

  it('does not retry configuration or input errors: waiting fixes neither', async () => {
    for (const failure of [new ConfigError(['APPSERVING_X is wrong']), new InputError('bad', 'bad input')]) {
      let attempts = 0;
      await expect(retryDuringStartup('starting', async () => {
        attempts += 1;
        throw failure;
      }, { log, timeoutMs: 10_000, maxDelayMs: 10 })).rejects.toBe(failure);
      expect(attempts).toBe(1);
    }
  });
});
