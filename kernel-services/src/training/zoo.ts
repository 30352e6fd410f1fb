import type { LayersModel, SymbolicTensor } from '@tensorflow/tfjs-node';
import { loadTf } from './backend';
import { buildLenet, type LenetSpec } from './models';

/**
 * The model zoo of the iceberg walkthrough. Every model maps SAR patches (H×W×C, C channels such as HH,
 * HV and their average) to the probability of "iceberg".
 */
export type ModelName = 'lenet' | 'extremeearth-cnn' | 'extremeearth-cnn-angle';

export const MODEL_NAMES: readonly ModelName[] = ['lenet', 'extremeearth-cnn', 'extremeearth-cnn-angle'];

export interface ZooOptions {
  inputShape?: [number, number, number];
  /** Dropout after each conv block and dense layer (ExtremeEarth used 0.2). */
  dropout?: number;
  /** For the LeNet-style model: filters, kernel size and dense units. */
  lenet?: Partial<LenetSpec>;
  seed?: number;
}

/** Builds a zoo model by name; unknown names are an error that lists the known ones. */
export function buildModel(name: string, opts: ZooOptions = {}): LayersModel {
  switch (name) {
    case 'lenet':
      return buildLenet({
        ...opts.lenet,
        ...(opts.inputShape ? { inputShape: opts.inputShape } : {}),
        ...(opts.dropout !== undefined ? { dropout: opts.dropout } : {}),
      });
    case 'extremeearth-cnn':
      return buildExtremeEarthCnn(opts, false);
    case 'extremeearth-cnn-angle':
      return buildExtremeEarthCnn(opts, true);
    default:
      throw new RangeError(`unknown model '${name}'; known models: ${MODEL_NAMES.join(', ')}`);
  }
}

/**
 * The ExtremeEarth iceberg CNN: four conv blocks (64, 128, 128, 64 filters, 3×3, max-pool, dropout),
 * dense 512 and 256, sigmoid output. Inputs are usually HH, HV and their average (3 channels). The
 * `withAngle` variant is a two-input model that also takes the incidence angle (normalised), joined
 * after flattening — the angle explains part of the backscatter level.
 */
function buildExtremeEarthCnn(opts: ZooOptions, withAngle: boolean): LayersModel {
  const tf = loadTf();
  const inputShape = opts.inputShape ?? [75, 75, 3];
  const dropout = opts.dropout ?? 0.2;
  const image = tf.input({ shape: inputShape, name: 'image' });
  let x: SymbolicTensor = image;
  [64, 128, 128, 64].forEach((filters, i) => {
    x = tf.layers
      .conv2d({ filters, kernelSize: 3, activation: 'relu', name: `conv${i + 1}` })
      .apply(x) as SymbolicTensor;
    x = tf.layers
      .maxPooling2d({ poolSize: i === 0 ? 3 : 2, strides: 2, name: `pool${i + 1}` })
      .apply(x) as SymbolicTensor;
    x = tf.layers.dropout({ rate: dropout, name: `dropout${i + 1}` }).apply(x) as SymbolicTensor;
  });
  x = tf.layers.flatten({ name: 'flatten' }).apply(x) as SymbolicTensor;
  const inputs = [image];
  if (withAngle) {
    const angle = tf.input({ shape: [1], name: 'inc_angle' });
    inputs.push(angle);
    x = tf.layers.concatenate({ name: 'with_angle' }).apply([x, angle]) as SymbolicTensor;
  }
  x = tf.layers.dense({ units: 512, activation: 'relu', name: 'dense1' }).apply(x) as SymbolicTensor;
  x = tf.layers.dropout({ rate: dropout, name: 'dropout_d1' }).apply(x) as SymbolicTensor;
  x = tf.layers.dense({ units: 256, activation: 'relu', name: 'dense2' }).apply(x) as SymbolicTensor;
  x = tf.layers.dropout({ rate: dropout, name: 'dropout_d2' }).apply(x) as SymbolicTensor;
  const output = tf.layers.dense({ units: 1, activation: 'sigmoid', name: 'output' }).apply(x) as SymbolicTensor;
  return tf.model({ inputs, outputs: output, name: withAngle ? 'extremeearth_cnn_angle' : 'extremeearth_cnn' });
}
