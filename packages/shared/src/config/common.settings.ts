import Type from 'typebox';
import { setting } from './config.ts';

const positiveMs = () => Type.Integer({ minimum: 1 });
const secretKey = '[A-Za-z0-9_.-]{1,32}:[A-Za-z0-9+/]{43}=';

/** Settings every service reads. Each service adds its own (see `services/<name>/src/config.ts`). */
export const commonSettings = {
  natsUrl: setting({
    env: 'APPSERVING_NATS_URL',
    schema: Type.String({ minLength: 1 }),
    default: 'nats://127.0.0.1:4222',
    description: 'NATS server(s) with JetStream, comma-separated.',
  }),
  natsCredsFile: setting({
    env: 'APPSERVING_NATS_CREDS_FILE',
    schema: Type.String({ minLength: 1 }),
    default: '',
    description: 'Path of a NATS credentials (.creds) file, when the server requires one.',
  }),
  natsUser: setting({
    env: 'APPSERVING_NATS_USER',
    schema: Type.String({ minLength: 1 }),
    default: '',
    description: 'NATS user name, when the server authenticates users by password (with APPSERVING_NATS_PASSWORD); each service can have its own user with its own subject permissions (docs/operations.md).',
  }),
  natsPassword: setting({
    env: 'APPSERVING_NATS_PASSWORD',
    schema: Type.String({ minLength: 1 }),
    default: '',
    description: 'Password of APPSERVING_NATS_USER.',
    secret: true,
  }),
  natsConnectTimeoutMs: setting({
    env: 'APPSERVING_NATS_CONNECT_TIMEOUT_MS',
    schema: Type.Integer({ minimum: 100 }),
    default: 30_000,
    description: 'At start-up, how long to keep trying each step (reach NATS, migrate Postgres, ensure streams, consumers and buckets) while NATS or Postgres is away, before exiting with an error.',
  }),
  databaseUrl: setting({
    env: 'APPSERVING_DATABASE_URL',
    schema: Type.String({ pattern: '^postgres(ql)?://' }),
    default: 'postgres://postgres@127.0.0.1:5432/appserving',
    description: 'Postgres connection URL (postgres://user:password@host:port/database).',
    secret: true,
  }),
  databasePoolMax: setting({
    env: 'APPSERVING_DATABASE_POOL_MAX',
    schema: Type.Integer({ minimum: 1, maximum: 200 }),
    default: 10,
    description: 'Most Postgres connections one service process opens.',
  }),
  httpHost: setting({
    env: 'APPSERVING_HTTP_HOST',
    schema: Type.String({ minLength: 1 }),
    default: '127.0.0.1',
    description: 'Address the HTTP server (API or health/metrics) listens on.',
  }),
  logLevel: setting({
    env: 'APPSERVING_LOG_LEVEL',
    schema: Type.Enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']),
    default: 'info',
    description: 'Log level.',
  }),
  otlpEndpoint: setting({
    env: 'APPSERVING_OTLP_ENDPOINT',
    schema: Type.String({ format: 'uri' }),
    default: '',
    description: 'OTLP/HTTP endpoint for traces (e.g. http://127.0.0.1:4318). Empty: traces are not exported.',
  }),
  shutdownGraceMs: setting({
    env: 'APPSERVING_SHUTDOWN_GRACE_MS',
    schema: positiveMs(),
    default: 20_000,
    description: 'On SIGTERM, how long in-flight messages may finish before they are returned to the stream.',
  }),
  consumerConcurrency: setting({
    env: 'APPSERVING_CONSUMER_CONCURRENCY',
    schema: Type.Integer({ minimum: 1, maximum: 1000 }),
    default: 16,
    description: 'Messages one consumer handles at once in one process.',
  }),
  maxDeliveries: setting({
    env: 'APPSERVING_MAX_DELIVERIES',
    schema: Type.Integer({ minimum: 1, maximum: 100 }),
    default: 8,
    description: 'Deliveries of a failing message before it goes to the dead-letter stream.',
  }),
  retryBaseDelayMs: setting({
    env: 'APPSERVING_RETRY_BASE_DELAY_MS',
    schema: positiveMs(),
    default: 1_000,
    description: 'First redelivery delay after a retryable failure; doubled each time.',
  }),
  retryMaxDelayMs: setting({
    env: 'APPSERVING_RETRY_MAX_DELAY_MS',
    schema: positiveMs(),
    default: 60_000,
    description: 'Longest redelivery delay.',
  }),
  secretKeys: setting({
    env: 'APPSERVING_SECRET_KEYS',
    schema: Type.String({ pattern: `^${secretKey}( *, *${secretKey})*$` }),
    default: '',
    description:
      'Keys that encrypt kubeconfigs and app secrets at rest: `keyId:base64(32 bytes)`, comma-separated, the first encrypts, all decrypt (see docs/auth.md). Empty: a fixed development key, allowed only when the database is on 127.0.0.1.',
    secret: true,
  }),
  ackWaitMs: setting({
    env: 'APPSERVING_ACK_WAIT_MS',
    schema: Type.Integer({ minimum: 1_000 }),
    default: 30_000,
    description: 'How long JetStream waits for an ack before redelivering; handlers heartbeat while they work.',
  }),
} as const;

/** A TCP port setting's schema. */
export const portSchema = () => Type.Integer({ minimum: 1, maximum: 65535 });
