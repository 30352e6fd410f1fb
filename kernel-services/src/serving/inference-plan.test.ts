import type { LayersModel, SymbolicTensor, Tensor } from '@tensorflow/tfjs-node';
import { describe, expect, it } from 'vitest';
import { loadTf } from '../training/backend';
import { buildModel } from '../training/zoo';
import { checkPlan, inferencePlan } from './inference-plan';
import { Servable, standardize } from './servable';
import type { ServingSignature } from './signature';

const tf = loadTf();

/** Seeded inputs for every model input at `batch`. */
function inputsFor(model: LayersModel, batch: number, seed = 5): Tensor[] {
  return model.inputs.map((t, k) =>
    tf.randomNormal([batch, ...t.shape.slice(1)] as number[], 0, 1, 'float32', seed + k),
  );
}

/** Largest difference between the plan's outputs and model.predict's on the same inputs. */
function planVsPredict(model: LayersModel, batch: number): { kind: string; diff: number; shapes: string[] } {
  const plan = inferencePlan(tf, model);
  return tf.tidy(() => {
    const inputs = inputsFor(model, batch);
    const want = model.predict(inputs.length === 1 ? inputs[0]! : inputs) as Tensor | Tensor[];
    const wants = Array.isArray(want) ? want : [want];
    const got = plan.run(inputs);
    let diff = 0;
    wants.forEach((w, k) => {
      const a = w.dataSync();
      const b = got[k]!.dataSync();
      expect(b.length).toBe(a.length);
      for (let i = 0; i < a.length; i++) diff = Math.max(diff, Math.abs(a[i]! - b[i]!));
    });
    return { kind: plan.kind, diff, shapes: got.map((g) => g.shape.join('x')) };
  });
}

/** A functional model using every compiled option: same padding, strides, dilation, average pooling, and each activation. */
function variedModel(): LayersModel {
  const image = tf.input({ shape: [21, 21, 3], name: 'image' });
  let x = tf.layers
    .conv2d({ filters: 4, kernelSize: 3, padding: 'same', activation: 'tanh', name: 'c1' })
    .apply(image) as SymbolicTensor;
  x = tf.layers
    .conv2d({ filters: 5, kernelSize: [3, 2], strides: 2, useBias: false, name: 'c2' })
    .apply(x) as SymbolicTensor;
  x = tf.layers
    .conv2d({ filters: 3, kernelSize: 3, dilationRate: 2, activation: 'sigmoid', name: 'c3' })
    .apply(x) as SymbolicTensor;
  x = tf.layers.averagePooling2d({ poolSize: 2, strides: 1, padding: 'same', name: 'avg' }).apply(x) as SymbolicTensor;
  x = tf.layers.maxPooling2d({ poolSize: 3, strides: 2, name: 'max' }).apply(x) as SymbolicTensor;
  x = tf.layers.activation({ activation: 'relu', name: 'act' }).apply(x) as SymbolicTensor;
  x = tf.layers.flatten({ name: 'flat' }).apply(x) as SymbolicTensor;
  const angle = tf.input({ shape: [1], name: 'angle' });
  x = tf.layers.concatenate({ name: 'join' }).apply([x, angle]) as SymbolicTensor;
  x = tf.layers.dense({ units: 6, useBias: false, name: 'd1' }).apply(x) as SymbolicTensor;
  const out = tf.layers.dense({ units: 3, activation: 'softmax', name: 'probs' }).apply(x) as SymbolicTensor;
  return tf.model({ inputs: [image, angle], outputs: out });
}

describe('inference plan', () => {
  it('compiles the zoo models to TensorFlow ops that give what model.predict gives', () => {
    for (const name of ['lenet', 'extremeearth-cnn', 'extremeearth-cnn-angle']) {
      const model = buildModel(name, { inputShape: [33, 33, 2] });
      for (const batch of [1, 4]) {
        const r = planVsPredict(model, batch);
        expect(r.kind, name).toBe('ops');
        expect(r.shapes).toEqual([`${batch}x1`]);
        expect(r.diff, `${name} at batch ${batch}`).toBeLessThan(1e-6);
      }
      model.dispose();
    }
  });

  it('handles same padding, strides, dilation, average pooling, concatenation and every activation it claims', () => {
    const model = variedModel();
    const r = planVsPredict(model, 3);
    expect(r.kind).toBe('ops');
    expect(r.shapes).toEqual(['3x3']);
    expect(r.diff).toBeLessThan(1e-6);
    model.dispose();
  });

  it('leaves a model with a layer it does not compile on tfjs-layers, with the reason, and the same outputs', () => {
    const model = tf.sequential({
      layers: [
        tf.layers.conv2d({ inputShape: [9, 9, 2], filters: 2, kernelSize: 3, name: 'conv' }),
        tf.layers.batchNormalization({ name: 'bn' }),
        tf.layers.flatten(),
        tf.layers.dense({ units: 1, activation: 'elu', name: 'head' }),
      ],
    });
    const plan = inferencePlan(tf, model);
    expect(plan.kind).toBe('layers');
    expect(plan.fallbackReason).toMatch(/layer bn: BatchNormalization layers/);
    expect(planVsPredict(model, 2).diff).toBe(0);
    model.dispose();
  });

  it('names an unsupported activation', () => {
    const model = tf.sequential({
      layers: [tf.layers.dense({ inputShape: [4], units: 2, activation: 'elu', name: 'e' })],
    });
    expect(inferencePlan(tf, model).fallbackReason).toBe("layer e: activation 'elu'");
    model.dispose();
  });

  it('keeps tfjs-layers when compiled ops disagree with it on the probe batch', () => {
    const model = buildModel('lenet', { inputShape: [17, 17, 2] });
    const probe = (batch: number): Tensor[] => [tf.randomNormal([batch, 17, 17, 2], 0, 1, 'float32', 1)];
    const wrong = {
      kind: 'ops' as const,
      fallbackReason: null,
      run: (xs: readonly Tensor[]) => [tf.zeros([xs[0]!.shape[0]!, 1])],
    };
    const plan = checkPlan(tf, model, wrong, probe);
    expect(plan.kind).toBe('layers');
    expect(plan.fallbackReason).toMatch(/the compiled ops differ from tfjs-layers by [0-9.e-]+ on the probe batch/);
    expect(checkPlan(tf, model, inferencePlan(tf, model), probe).kind).toBe('ops');
    model.dispose();
  });

  it('runs without leaving tensors behind', () => {
    const model = buildModel('extremeearth-cnn-angle', { inputShape: [33, 33, 2] });
    const plan = inferencePlan(tf, model);
    const inputs = inputsFor(model, 2);
    tf.tidy(() => plan.run(inputs)[0]!.dataSync());
    const before = tf.memory().numTensors;
    for (let i = 0; i < 3; i++) tf.tidy(() => plan.run(inputs)[0]!.dataSync());
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose(inputs);
    model.dispose();
  });
});

describe('Servable.predict', () => {
  it('standardises in float32 exactly as TensorFlow Sub and Div do', () => {
    const data = Float32Array.from({ length: 3 * 500 }, (_, i) => Math.fround(-30 + Math.sin(i * 12.9898) * 25));
    const mean = Float32Array.from([-21.37, -26.111, 0.25]);
    const std = Float32Array.from([5.1, 3.33, 0.07]);
    const ours = standardize(data, mean, std);
    const theirs = tf.tidy(() => tf.tensor2d(data, [500, 3]).sub(tf.tensor1d(mean)).div(tf.tensor1d(std)).dataSync());
    expect(Array.from(ours)).toEqual(Array.from(theirs));
  });

  it('serves a compiled plan with the training standardisation, matching model.predict on standardised inputs', () => {
    const model = buildModel('extremeearth-cnn-angle', { inputShape: [33, 33, 2] });
    const sig: ServingSignature = {
      inputs: [
        { name: 'image', shape: [33, 33, 2], role: 'image' },
        { name: 'inc_angle', shape: [], role: 'angle' },
      ],
      outputs: [{ name: 'output', shape: [1] }],
      channels: ['band_1', 'band_2'],
      angleFeature: 'inc_angle',
      preprocessing: { channelMean: [-20, -26], channelStd: [5, 4] },
      angleNormalization: { mean: 39, std: 4 },
    };
    const version = { name: 'm', version: 1 } as unknown as ConstructorParameters<typeof Servable>[1];
    const servable = new Servable(model, version, sig, null);
    expect(servable.plan.kind).toBe('ops');
    const image = Float32Array.from({ length: 2 * 33 * 33 * 2 }, (_, i) => -23 + 6 * Math.cos(i));
    const angles = Float32Array.from([35, NaN]);
    const got = servable.predict([image, angles], 2)[0]!;
    const want = tf.tidy(() => {
      const x = tf
        .tensor4d(image, [2, 33, 33, 2])
        .sub(tf.tensor1d([-20, -26]))
        .div(tf.tensor1d([5, 4]));
      const a = tf.tensor2d([(35 - 39) / 4, 0], [2, 1]);
      return (model.predict([x, a]) as Tensor).dataSync();
    });
    expect(got.length).toBe(2);
    for (let i = 0; i < 2; i++) expect(got[i]).toBeCloseTo(want[i]!, 6);
    void servable.retire();
  });
});
