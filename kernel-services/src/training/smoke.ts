import { loadTf, tensorflowInfo } from './backend';
import { buildLenet } from './models';
import type { TensorflowInfo } from '@floe/schema';

export interface SmokeResult {
  tensorflow: TensorflowInfo;
  samples: number;
  epochs: number;
  /** Loss on the training set before the first step and after the last epoch. */
  lossBefore: number;
  lossAfter: number;
  accuracyAfter: number;
  samplesPerSecond: number;
}

/**
 * Trains a small CNN on a seeded toy set of 75x75x2 patches (class 1 has a bright compact target,
 * class 0 only speckle) and reports whether the loss fell. Proves the native backend trains.
 */
export async function trainSmoke(
  opts: { samples?: number; epochs?: number; seed?: number } = {},
): Promise<SmokeResult> {
  const samples = opts.samples ?? 256;
  const epochs = opts.epochs ?? 1;
  const seed = opts.seed ?? 7;
  const tf = loadTf();
  const model = buildLenet({ filters: [8, 16], denseUnits: 32, dropout: 0 });
  model.compile({ optimizer: tf.train.adam(1e-3), loss: 'binaryCrossentropy', metrics: ['accuracy'] });

  const { xs, ys } = tf.tidy(() => {
    const labels = tf.tensor1d(
      Array.from({ length: samples }, (_, i) => i % 2),
      'float32',
    );
    const speckle = tf.randomNormal([samples, 75, 75, 2], -20, 3, 'float32', seed);
    // A 9x9 bright target at the centre, only in class 1 patches.
    const target = tf
      .pad(tf.fill([9, 9, 2], 12), [
        [33, 33],
        [33, 33],
        [0, 0],
      ])
      .expandDims(0);
    const x = speckle
      .add(target.mul(labels.reshape([samples, 1, 1, 1])))
      .add(20)
      .div(10);
    return { xs: x, ys: labels.reshape([samples, 1]) };
  });
  try {
    const lossOf = (): number =>
      tf.tidy(
        () =>
          (model.evaluate(xs, ys, { batchSize: 64 }) as import('@tensorflow/tfjs-node').Tensor[])[0]!.dataSync()[0]!,
      );
    const lossBefore = lossOf();
    const t0 = performance.now();
    await model.fit(xs, ys, { epochs, batchSize: 32, shuffle: true, verbose: 0 });
    const seconds = (performance.now() - t0) / 1000;
    const [loss, acc] = tf.tidy(() =>
      (model.evaluate(xs, ys, { batchSize: 64 }) as import('@tensorflow/tfjs-node').Tensor[]).map(
        (t) => t.dataSync()[0]!,
      ),
    );
    return {
      tensorflow: tensorflowInfo(),
      samples,
      epochs,
      lossBefore,
      lossAfter: loss!,
      accuracyAfter: acc!,
      samplesPerSecond: (samples * epochs) / seconds,
    };
  } finally {
    xs.dispose();
    ys.dispose();
    model.dispose();
  }
}
