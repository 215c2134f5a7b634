export * from './connection.ts';
export * from './topology.ts';
export * from './codec.ts';
export * from './publisher.ts';
export * from './dead-letters.ts';
export * from './consumer-runner.ts';
export * from './messaging.ts';
export * from './outbox-relay.ts';
