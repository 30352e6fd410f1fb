import type { LayersModel } from '@tensorflow/tfjs-node';
import { loadTf } from './backend';

/**
 * The LeNet-style CNN of the iceberg walkthrough: two conv + max-pool blocks, one dense layer, a
 * sigmoid output. A plain object so the same network can be rebuilt elsewhere (the Keras reference
 * benchmark reads this spec).
 */
export interface LenetSpec {
  /** [height, width, channels], e.g. [75, 75, 2] for HH + HV patches. */
  inputShape: [number, number, number];
  /** Filters of the two convolution blocks. */
  filters: [number, number];
  kernelSize: number;
  denseUnits: number;
  dropout: number;
}

export const DEFAULT_LENET: LenetSpec = {
  inputShape: [75, 75, 2],
  filters: [16, 32],
  kernelSize: 5,
  denseUnits: 128,
  dropout: 0.25,
};

/** Builds (uncompiled) the LeNet-style CNN for binary classification. */
export function buildLenet(spec: Partial<LenetSpec> = {}): LayersModel {
  const s: LenetSpec = { ...DEFAULT_LENET, ...spec };
  validateLenet(s);
  const tf = loadTf();
  const model = tf.sequential({ name: 'lenet' });
  model.add(
    tf.layers.conv2d({
      inputShape: s.inputShape,
      filters: s.filters[0],
      kernelSize: s.kernelSize,
      activation: 'relu',
      name: 'conv1',
    }),
  );
  model.add(tf.layers.maxPooling2d({ poolSize: 2, name: 'pool1' }));
  model.add(tf.layers.conv2d({ filters: s.filters[1], kernelSize: s.kernelSize, activation: 'relu', name: 'conv2' }));
  model.add(tf.layers.maxPooling2d({ poolSize: 2, name: 'pool2' }));
  model.add(tf.layers.flatten({ name: 'flatten' }));
  model.add(tf.layers.dense({ units: s.denseUnits, activation: 'relu', name: 'dense1' }));
  if (s.dropout > 0) model.add(tf.layers.dropout({ rate: s.dropout, name: 'dropout' }));
  model.add(tf.layers.dense({ units: 1, activation: 'sigmoid', name: 'output' }));
  return model;
}

function validateLenet(s: LenetSpec): void {
  const [h, w, c] = s.inputShape;
  for (const [name, v] of [
    ['inputShape[0]', h],
    ['inputShape[1]', w],
    ['inputShape[2]', c],
    ['filters[0]', s.filters[0]],
    ['filters[1]', s.filters[1]],
    ['kernelSize', s.kernelSize],
    ['denseUnits', s.denseUnits],
  ] as const) {
    if (!Number.isInteger(v) || v < 1) throw new RangeError(`LeNet spec: ${name} must be a positive integer, got ${v}`);
  }
  if (!(s.dropout >= 0 && s.dropout < 1))
    throw new RangeError(`LeNet spec: dropout must be in [0, 1), got ${s.dropout}`);
  // Two valid convolutions and two 2x2 pools must leave at least one pixel.
  const side = Math.floor((Math.floor((Math.min(h, w) - s.kernelSize + 1) / 2) - s.kernelSize + 1) / 2);
  if (side < 1) {
    throw new RangeError(
      `LeNet spec: input ${h}x${w} is too small for kernelSize ${s.kernelSize} (two conv + pool blocks)`,
    );
  }
}
