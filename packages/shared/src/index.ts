export * from './config/index.ts';
export * from './contracts/index.ts';
export * from './database/index.ts';
export * from './errors/index.ts';
export * from './logging/index.ts';
export * from './messaging/index.ts';
export * from './telemetry/index.ts';
export * from './service/index.ts';
