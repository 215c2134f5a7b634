export * from './secret-box.ts';
export * from './secret-keys-config.ts';
export * from './aad.ts';
