/**
 * Real-training trial functions on the iceberg task: the LeNet-style CNN trained with TensorFlow.js
 * (native backend) on seeded synthetic Statoil/C-CORE patches (ingest/synthetic.ts), reporting
 * validation accuracy after every epoch. One builder serves both search (lr, dropout, filters,
 * kernel) and ablation (leave out input features or layers).
 *
 * Parameters (all optional): lr (1e-3), dropout (0.25), filters (16: conv1, conv2 = 2×), kernel (5),
 * denseUnits (64), epochs (or ASHA's budget; 6), samples (320), size (patch side; 75), batchSize (32),
 * dataSeed (7: the same data for every trial), features (`HH,HV,derived,angle` minus removedFeatures),
 * removedLayers (comma-separated: conv2, dense1, dropout), modelSeed (weight initialisation; default the
 * trial's seed — an ablation fixes it so only the removed component differs).
 */
import type { LayersModel, SymbolicTensor, Tensor } from '@tensorflow/tfjs-node';
import type { TrialParams } from '@floe/schema';
import { generateSynthetic } from '../../ingest/synthetic';
import { loadTf } from '../../training/backend';
import type { TrialReporter } from '../trial';

/** Input features the ablation can leave out: the two polarisations, derived bands, the angle. */
export const ICEBERG_FEATURES = ['HH', 'HV', 'derived', 'angle'] as const;
/** Layers the ablation can leave out (conv2 goes with its pooling layer). */
export const ICEBERG_LAYERS = ['conv2', 'dense1', 'dropout'] as const;

export function listParam(v: unknown): string[] {
  return typeof v === 'string' && v
    ? v
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean)
    : [];
}

interface Data {
  image: Tensor;
  angle: Tensor;
  labels: Tensor;
}

const dataCache = new Map<string, { train: Data; val: Data }>();

/** Seeded synthetic patches as tensors: channels HH, HV, mean(HH, HV), HH − HV; angle normalised. */
function loadData(samples: number, size: number, seed: number): { train: Data; val: Data } {
  const key = `${samples}:${size}:${seed}`;
  const hit = dataCache.get(key);
  if (hit) return hit;
  const tf = loadTf();
  const records = generateSynthetic({ seed, count: samples, size });
  const px = size * size;
  const image = new Float32Array(samples * px * 4);
  const angle = new Float32Array(samples);
  const labels = new Float32Array(samples);
  records.forEach((r, i) => {
    for (let p = 0; p < px; p++) {
      // dB values around −20; scale to roughly unit range.
      const hh = (r.band_1[p]! + 20) / 10;
      const hv = (r.band_2[p]! + 20) / 10;
      const o = (i * px + p) * 4;
      image[o] = hh;
      image[o + 1] = hv;
      image[o + 2] = (hh + hv) / 2;
      image[o + 3] = hh - hv;
    }
    angle[i] = r.inc_angle === null ? 0 : (r.inc_angle - 39) / 4;
    labels[i] = r.is_iceberg ?? 0;
  });
  const nTrain = Math.round(samples * 0.75);
  const all = {
    image: tf.tensor4d(image, [samples, size, size, 4]),
    angle: tf.tensor2d(angle, [samples, 1]),
    labels: tf.tensor2d(labels, [samples, 1]),
  };
  const split = (from: number, n: number): Data => ({
    image: all.image.slice([from, 0, 0, 0], [n, size, size, 4]),
    angle: all.angle.slice([from, 0], [n, 1]),
    labels: all.labels.slice([from, 0], [n, 1]),
  });
  const out = { train: split(0, nTrain), val: split(nTrain, samples - nTrain) };
  all.image.dispose();
  all.angle.dispose();
  all.labels.dispose();
  dataCache.set(key, out);
  return out;
}

function channelIndices(features: readonly string[]): number[] {
  const idx: number[] = [];
  if (features.includes('HH')) idx.push(0);
  if (features.includes('HV')) idx.push(1);
  if (features.includes('derived')) idx.push(2, 3);
  return idx;
}

function buildModel(
  params: TrialParams,
  channels: number,
  size: number,
  withAngle: boolean,
  removed: readonly string[],
  seed: number,
): LayersModel {
  const tf = loadTf();
  const filters = Number(params.filters ?? 16);
  const kernel = Number(params.kernel ?? 5);
  const dropout = Number(params.dropout ?? 0.25);
  const dense = Number(params.denseUnits ?? 64);
  const init = (k: number) => tf.initializers.glorotUniform({ seed: seed + k });
  const image = tf.input({ shape: [size, size, channels], name: 'image' });
  let x = tf.layers
    .conv2d({ filters, kernelSize: kernel, activation: 'relu', name: 'conv1', kernelInitializer: init(1) })
    .apply(image) as SymbolicTensor;
  x = tf.layers.maxPooling2d({ poolSize: 2, name: 'pool1' }).apply(x) as SymbolicTensor;
  if (!removed.includes('conv2')) {
    x = tf.layers
      .conv2d({
        filters: filters * 2,
        kernelSize: kernel,
        activation: 'relu',
        name: 'conv2',
        kernelInitializer: init(2),
      })
      .apply(x) as SymbolicTensor;
    x = tf.layers.maxPooling2d({ poolSize: 2, name: 'pool2' }).apply(x) as SymbolicTensor;
  }
  x = tf.layers.flatten({ name: 'flatten' }).apply(x) as SymbolicTensor;
  const inputs = [image];
  if (withAngle) {
    const angle = tf.input({ shape: [1], name: 'inc_angle' });
    inputs.push(angle);
    x = tf.layers.concatenate({ name: 'with_angle' }).apply([x, angle]) as SymbolicTensor;
  }
  if (!removed.includes('dense1')) {
    x = tf.layers
      .dense({ units: dense, activation: 'relu', name: 'dense1', kernelInitializer: init(3) })
      .apply(x) as SymbolicTensor;
  }
  if (!removed.includes('dropout') && dropout > 0)
    x = tf.layers.dropout({ rate: dropout, name: 'dropout', seed }).apply(x) as SymbolicTensor;
  const out = tf.layers
    .dense({ units: 1, activation: 'sigmoid', name: 'output', kernelInitializer: init(4) })
    .apply(x) as SymbolicTensor;
  return tf.model({ inputs, outputs: out, name: 'iceberg_lenet' });
}

/** Trains the model for the trial's epochs; reports and returns validation accuracy. */
export async function icebergLenetTrial(params: TrialParams, reporter: TrialReporter): Promise<number> {
  const tf = loadTf();
  const samples = Number(params.samples ?? 320);
  const size = Number(params.size ?? 75);
  const epochs = Number(reporter.trial.budget ?? params.epochs ?? 6);
  const removedFeatures = listParam(params.removedFeatures);
  const removedLayers = listParam(params.removedLayers);
  const features = ICEBERG_FEATURES.filter((f) => !removedFeatures.includes(f));
  const channels = channelIndices(features);
  if (channels.length === 0)
    throw new RangeError('iceberg trial: at least one image feature (HH, HV, derived) must remain');
  const withAngle = features.includes('angle');
  const { train, val } = loadData(samples, size, Number(params.dataSeed ?? 7));
  const pick = (d: Data) => {
    const img = channels.length === 4 ? d.image.clone() : tf.gather(d.image, channels, 3);
    return withAngle ? [img, d.angle.clone()] : [img];
  };
  const xTrain = pick(train);
  const xVal = pick(val);
  const model = buildModel(
    params,
    channels.length,
    size,
    withAngle,
    removedLayers,
    Number(params.modelSeed ?? reporter.trial.seed) % 100_000,
  );
  model.compile({
    optimizer: tf.train.adam(Number(params.lr ?? 1e-3)),
    loss: 'binaryCrossentropy',
    metrics: ['accuracy'],
  });
  let last = 0;
  try {
    for (let epoch = 1; epoch <= epochs; epoch++) {
      await model.fit(xTrain.length === 1 ? xTrain[0]! : xTrain, train.labels, {
        epochs: 1,
        batchSize: Number(params.batchSize ?? 32),
        shuffle: true,
        verbose: 0,
      });
      last = tf.tidy(() => {
        const r = model.evaluate(xVal.length === 1 ? xVal[0]! : xVal, val.labels, { batchSize: 128 }) as Tensor[];
        return r[1]!.dataSync()[0]!;
      });
      reporter.report(epoch, last);
    }
    return last;
  } finally {
    model.dispose();
    for (const t of [...xTrain, ...xVal]) t.dispose();
  }
}
