export * from './cluster-access.ts';
