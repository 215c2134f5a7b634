import { pino, type Logger, type LoggerOptions } from 'pino';

export type { Logger };

/**
 * Keys whose values are secrets wherever they appear. Redaction is configuration, not care: a log call that
 * passes an object holding one of these keys (up to three levels deep) prints `[redacted]` instead.
 */
export const secretKeys = [
  'password',
  'token',
  'secret',
  'secrets',
  'kubeconfig',
  'authorization',
  'cookie',
  'credentials',
  'databaseUrl',
  'privateKey',
  'apiKey',
] as const;

export function redactPaths(keys: readonly string[] = secretKeys): string[] {
  const paths: string[] = [];
  for (const key of keys) {
    paths.push(key, `*.${key}`, `*.*.${key}`, `*.*.*.${key}`);
  }
  // HTTP request headers are logged by fastify under req.headers.
  paths.push('req.headers.authorization', 'req.headers.cookie', 'req.headers["x-api-key"]');
  return paths;
}

export interface LoggerSettings {
  service: string;
  level: string;
  /** Extra fields on every line (e.g. instance id). */
  base?: Record<string, unknown>;
  /** For tests: where lines go. Defaults to stdout. */
  destination?: pino.DestinationStream;
}

export function createLogger(settings: LoggerSettings): Logger {
  const options: LoggerOptions = {
    level: settings.level,
    base: { service: settings.service, pid: process.pid, ...settings.base },
    redact: { paths: redactPaths(), censor: '[redacted]' },
    serializers: { err: pino.stdSerializers.err, error: pino.stdSerializers.err },
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: { level: (label) => ({ level: label }) },
  };
  return settings.destination ? pino(options, settings.destination) : pino(options);
}
