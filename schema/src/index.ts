export * from './version';
export * from './info';
export * from './features';
export * from './tracking';
export * from './mime';
export * from './search';
export * from './validation';
export * from './serving';
