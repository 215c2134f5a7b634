export * from './cloudevent.ts';
export * from './release.schemas.ts';
export * from './commands.ts';
export * from './events.ts';
export * from './catalog.ts';
