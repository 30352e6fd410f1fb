import { loadTf } from '../training/backend';
import { buildLenet } from '../training/models';
import { SyntheticSarGenerator, type SyntheticOptions } from './synthetic';

export interface CalibrationResult {
  difficulty: number;
  train: number;
  validation: number;
  epochs: number;
  /** Best validation accuracy over the epochs, and the last one. */
  bestValidationAccuracy: number;
  finalValidationAccuracy: number;
  accuracyPerEpoch: number[];
  seconds: number;
}

/**
 * Trains the walkthrough's LeNet-style CNN on generated patches and reports validation accuracy:
 * the measurement behind the generator's default difficulty (docs/synthetic-data.md). Bands are
 * scaled (dB + 20) / 10; the angle is not used, like the plain CNN of the walkthrough.
 */
export async function calibrateDifficulty(
  opts: {
    difficulty?: number;
    train?: number;
    validation?: number;
    epochs?: number;
    seed?: number;
  } & Partial<SyntheticOptions> = {},
): Promise<CalibrationResult> {
  const tf = loadTf();
  const train = opts.train ?? 1604;
  const validation = opts.validation ?? 400;
  const epochs = opts.epochs ?? 12;
  const seed = opts.seed ?? 1;
  const t0 = performance.now();
  const gen = new SyntheticSarGenerator({ ...opts, seed, count: train + validation, difficulty: opts.difficulty });
  const n = train + validation;
  const px = 75 * 75;
  const x = new Float32Array(n * px * 2);
  const y = new Float32Array(n);
  let i = 0;
  for (const r of gen.records()) {
    const off = i * px * 2;
    for (let k = 0; k < px; k++) {
      x[off + 2 * k] = (r.band_1[k]! + 20) / 10;
      x[off + 2 * k + 1] = (r.band_2[k]! + 20) / 10;
    }
    y[i] = r.is_iceberg ?? 0;
    i++;
  }
  const xs = tf.tensor4d(x, [n, 75, 75, 2]);
  const ys = tf.tensor2d(y, [n, 1]);
  const xTrain = xs.slice([0, 0, 0, 0], [train, 75, 75, 2]);
  const yTrain = ys.slice([0, 0], [train, 1]);
  const xVal = xs.slice([train, 0, 0, 0], [validation, 75, 75, 2]);
  const yVal = ys.slice([train, 0], [validation, 1]);
  const model = buildLenet();
  model.compile({ optimizer: tf.train.adam(1e-3), loss: 'binaryCrossentropy', metrics: ['accuracy'] });
  const accuracyPerEpoch: number[] = [];
  await model.fit(xTrain, yTrain, {
    epochs,
    batchSize: 32,
    shuffle: true,
    verbose: 0,
    validationData: [xVal, yVal],
    callbacks: {
      onEpochEnd: async (_epoch, logs) => {
        accuracyPerEpoch.push(Number(logs?.val_acc ?? logs?.val_accuracy ?? NaN));
      },
    },
  });
  tf.dispose([xs, ys, xTrain, yTrain, xVal, yVal]);
  model.dispose();
  return {
    difficulty: gen.options.difficulty,
    train,
    validation,
    epochs,
    bestValidationAccuracy: Math.max(...accuracyPerEpoch),
    finalValidationAccuracy: accuracyPerEpoch[accuracyPerEpoch.length - 1]!,
    accuracyPerEpoch,
    seconds: (performance.now() - t0) / 1000,
  };
}
