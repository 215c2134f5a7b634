export * from './artifact-meter.ts';
export * from './artifact-url.guard.ts';
export * from './image-registry.guard.ts';
export * from './safe-fetch.ts';
export * from './artifact.store.ts';
export * from './artifact.settings.ts';
