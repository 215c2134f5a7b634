export * from './nats-server.ts';
export { createThrowawayDatabase } from '../database/index.ts';
export * from './assertions.ts';
export * from '../contracts/field-rules.cases.ts';
