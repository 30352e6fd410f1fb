import type { LayersModel } from '@tensorflow/tfjs-node';
import type { io } from '@tensorflow/tfjs-core';
import { loadTf } from '../training/backend';
import type { BlobStore } from '../store';

/**
 * TF.js models on the project's blob store (local folder or S3) through a tfjs IOHandler. The layout
 * is the standard TF.js one — `<prefix>model.json` + `<prefix>weights.bin` — so a copy of the folder
 * loads with `tf.loadLayersModel('file://…/model.json')` too. `model.json` is written last: a reader
 * that finds it finds complete weights.
 */

const MODEL_JSON = 'model.json';
const WEIGHTS_BIN = 'weights.bin';

function checkPrefix(prefix: string): void {
  if (!prefix.endsWith('/')) throw new RangeError(`model blob prefix must end with '/', got '${prefix}'`);
}

export function blobModelHandler(blobs: BlobStore, prefix: string): io.IOHandler {
  checkPrefix(prefix);
  const tf = loadTf();
  return {
    async save(artifacts: io.ModelArtifacts): Promise<io.SaveResult> {
      if (artifacts.modelTopology instanceof ArrayBuffer) {
        throw new TypeError('blob model store: binary (GraphDef) topologies are not supported, only layers models');
      }
      const weights = artifacts.weightData ? tf.io.CompositeArrayBuffer.join(artifacts.weightData) : new ArrayBuffer(0);
      await blobs.put(prefix + WEIGHTS_BIN, new Uint8Array(weights));
      const modelJson: io.ModelJSON = {
        modelTopology: artifacts.modelTopology as object,
        format: artifacts.format ?? 'layers-model',
        generatedBy: artifacts.generatedBy ?? `TensorFlow.js tfjs-layers v${tf.version.tfjs}`,
        convertedBy: artifacts.convertedBy ?? null,
        weightsManifest: [{ paths: [WEIGHTS_BIN], weights: artifacts.weightSpecs ?? [] }],
        ...(artifacts.trainingConfig ? { trainingConfig: artifacts.trainingConfig } : {}),
        ...(artifacts.userDefinedMetadata ? { userDefinedMetadata: artifacts.userDefinedMetadata } : {}),
      };
      await blobs.put(prefix + MODEL_JSON, JSON.stringify(modelJson));
      return { modelArtifactsInfo: tf.io.getModelArtifactsInfoForJSON(artifacts) };
    },

    async load(): Promise<io.ModelArtifacts> {
      const text = Buffer.from(await blobs.get(prefix + MODEL_JSON)).toString('utf8');
      let modelJson: io.ModelJSON;
      try {
        modelJson = JSON.parse(text) as io.ModelJSON;
      } catch (err) {
        throw new SyntaxError(`${blobs.url(prefix + MODEL_JSON)} is not valid JSON: ${(err as Error).message}`);
      }
      return tf.io.getModelArtifactsForJSON(modelJson, async (manifest) => {
        const specs: io.WeightsManifestEntry[] = [];
        const buffers: ArrayBuffer[] = [];
        for (const group of manifest) {
          specs.push(...group.weights);
          for (const p of group.paths) {
            if (p.includes('..') || p.startsWith('/'))
              throw new RangeError(`${prefix}${MODEL_JSON}: weights path '${p}' leaves the model folder`);
            const bytes = await blobs.get(prefix + p);
            buffers.push(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer);
          }
        }
        return [specs, buffers.length === 1 ? buffers[0]! : buffers];
      });
    },
  };
}

export async function saveModelToBlobs(model: LayersModel, blobs: BlobStore, prefix: string): Promise<void> {
  await model.save(blobModelHandler(blobs, prefix));
}

export async function loadModelFromBlobs(blobs: BlobStore, prefix: string): Promise<LayersModel> {
  return loadTf().loadLayersModel(blobModelHandler(blobs, prefix));
}

/** Copies a stored model folder (every blob under `from`) to `to`, model.json last. */
export async function copyModelBlobs(blobs: BlobStore, from: string, to: string): Promise<void> {
  checkPrefix(from);
  checkPrefix(to);
  const keys = await blobs.list(from);
  if (!keys.includes(from + MODEL_JSON)) throw new RangeError(`no TF.js model at ${blobs.url(from)}`);
  for (const key of keys.filter((k) => k !== from + MODEL_JSON))
    await blobs.put(to + key.slice(from.length), await blobs.get(key));
  await blobs.put(to + MODEL_JSON, await blobs.get(from + MODEL_JSON));
}
