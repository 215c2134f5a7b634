export * from './ops-routes.ts';
export * from './runtime.ts';
export * from './process.ts';
export * from './bootstrap.ts';
export * from './startup.ts';
