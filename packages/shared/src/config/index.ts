export * from './config.ts';
export * from './common.settings.ts';
