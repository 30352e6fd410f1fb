import { API_VERSION, type InfoResponse } from '@floe/schema';
import { storePath } from './env/paths';
import { tensorflowInfo } from './training/backend';
import { FLOE_VERSION } from './version';

const startedAt = new Date().toISOString();

/** What this Floe installation is: versions, TensorFlow backend and device, and the project store. */
export function info(): InfoResponse {
  return {
    floeVersion: FLOE_VERSION,
    apiVersion: API_VERSION,
    node: process.version,
    platform: `${process.platform}-${process.arch}`,
    tensorflow: tensorflowInfo(),
    store: { path: storePath(), metadata: 'sqlite', blobs: 'local' },
    startedAt,
  };
}
