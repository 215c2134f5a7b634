export * from './errors.ts';
export * from './error-mapping.ts';
