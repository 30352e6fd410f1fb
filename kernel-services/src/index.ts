/**
 * The floe library: the one public entry used from notebooks (tslab compiles cells to CommonJS, so
 * this package is CommonJS too) and by the hub, the CLI and workers.
 */
export { FLOE_VERSION } from './version';
export { info } from './info';
export { floeRoot, storePath } from './env/paths';
export { loadTf, tensorflowInfo, tfVariant, NativeBackendError, type Tf, type TfVariant } from './training/backend';
export { buildLenet, DEFAULT_LENET, type LenetSpec } from './training/models';
export { trainSmoke, type SmokeResult } from './training/smoke';
export * from './store';
export * from './feature-store';
