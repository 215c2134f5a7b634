export * from './cloudevent.ts';
export * from './release.schemas.ts';
export * from './analysis.ts';
export * from './commands.ts';
export * from './events.ts';
export * from './catalog.ts';
export * from './kube-names.ts';
export * from './rpc.ts';
