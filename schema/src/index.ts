export * from './version';
export * from './info';
export * from './features';
