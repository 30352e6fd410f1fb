export * from './version';
export * from './info';
