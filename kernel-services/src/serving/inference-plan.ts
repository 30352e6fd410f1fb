import type { LayersModel, Tensor } from '@tensorflow/tfjs-node';
import type { Tf } from '../training/backend';

/**
 * Inference for serving without tfjs-layers' per-call machinery.
 *
 * `LayersModel.predict` slices its input into batches, opens name scopes and checks input specs on
 * every layer of every call; for the LeNet-style model at batch 1 that is about 40% of the time of
 * a prediction (docs/benchmarks.md, serving). A plan compiled once walks the same layers as a list of
 * TensorFlow ops with the layers' own weights: Conv2D + BiasAdd + activation, MaxPool/AvgPool,
 * Reshape, MatMul + BiasAdd + activation, ConcatV2. Dropout is the identity at inference.
 *
 * Models with anything else (other layer types, shared layers, channels-first data, dense layers on
 * rank > 2 inputs, other activations) get `model.execute`, which skips only the batching loop. A
 * compiled plan is checked against `model.predict` on a probe batch before it is used
 * (`checkedInferencePlan`); if the two disagree the model keeps `model.execute`.
 */
export interface InferencePlan {
  /** 'ops': the compiled op list; 'layers': tfjs-layers' execute. */
  readonly kind: 'ops' | 'layers';
  /** Why the model runs on tfjs-layers (null for a compiled plan). */
  readonly fallbackReason: string | null;
  /** The model's outputs for `inputs` (one tensor per model input, in the model's input order). */
  run(inputs: readonly Tensor[]): Tensor[];
}

/** The part of tfjs-node's backend used here: runs one TensorFlow op by name (see native-kernels.ts). */
interface OpBackend {
  binding: Record<string, number>;
  executeSingleOutput(name: string, attrs: OpAttr[], inputs: Tensor[]): Tensor;
}
interface OpAttr {
  name: string;
  type: number;
  value: unknown;
}

/** What a layer's serialised config holds for the layer types compiled here. */
interface LayerConfig {
  filters?: number;
  kernelSize?: number | number[];
  poolSize?: number | number[];
  strides?: number | number[] | null;
  padding?: string;
  dataFormat?: string;
  dilationRate?: number | number[];
  useBias?: boolean;
  units?: number;
  axis?: number;
  activation?: string;
}

/** A layer of the model as the plan sees it (tfjs-layers' Layer, loosely typed). */
interface PlanLayer {
  name: string;
  getClassName(): string;
  getConfig(): LayerConfig;
  getWeights(): Tensor[];
  inboundNodes: { inboundLayers: PlanLayer[] }[];
}

type Step = (inputs: Tensor[]) => Tensor;

class Unsupported extends Error {}

const pair = (v: number | number[] | null | undefined, fallback: number): [number, number] => {
  if (v === null || v === undefined) return [fallback, fallback];
  if (typeof v === 'number') return [v, v];
  return [v[0] ?? fallback, v[1] ?? v[0] ?? fallback];
};

/** Compiles `model` into TensorFlow ops; throws Unsupported (with the reason) when it cannot. */
function compileOps(tf: Tf, model: LayersModel): (inputs: readonly Tensor[]) => Tensor[] {
  const be = tf.backend() as unknown as OpBackend;
  const b = be.binding;
  if (typeof be.executeSingleOutput !== 'function' || b?.TF_ATTR_TYPE === undefined)
    throw new Unsupported('the backend does not run TensorFlow ops by name');
  const T: OpAttr = { name: 'T', type: b.TF_ATTR_TYPE!, value: b.TF_FLOAT };
  const str = (name: string, value: string): OpAttr => ({ name, type: b.TF_ATTR_STRING!, value });
  const ints = (name: string, value: number[]): OpAttr => ({ name, type: b.TF_ATTR_INT!, value });
  const bool = (name: string, value: boolean): OpAttr => ({ name, type: b.TF_ATTR_BOOL!, value });
  const op = (name: string, attrs: OpAttr[], inputs: Tensor[]): Tensor => be.executeSingleOutput(name, attrs, inputs);
  const NHWC = str('data_format', 'NHWC');

  const activation = (layer: PlanLayer, name: string | undefined): ((x: Tensor) => Tensor) => {
    switch (name ?? 'linear') {
      case 'linear':
        return (x) => x;
      case 'relu':
        return (x) => op('Relu', [T], [x]);
      case 'sigmoid':
        return (x) => op('Sigmoid', [T], [x]);
      case 'tanh':
        return (x) => op('Tanh', [T], [x]);
      case 'softmax':
        return (x) => op('Softmax', [T], [x]);
      default:
        throw new Unsupported(`layer ${layer.name}: activation '${name}'`);
    }
  };
  const checkChannelsLast = (layer: PlanLayer, c: LayerConfig): void => {
    if (c.dataFormat !== undefined && c.dataFormat !== 'channelsLast')
      throw new Unsupported(`layer ${layer.name}: data format ${c.dataFormat}`);
  };
  const padding = (layer: PlanLayer, c: LayerConfig): string => {
    const p = c.padding ?? 'valid';
    if (p !== 'valid' && p !== 'same') throw new Unsupported(`layer ${layer.name}: padding '${p}'`);
    return p.toUpperCase();
  };
  /** Weights as [kernel, bias?], checked against the layer's config. */
  const weights = (layer: PlanLayer, c: LayerConfig, rank: number): [Tensor, Tensor | null] => {
    const w = layer.getWeights();
    const useBias = c.useBias ?? true;
    if (w.length !== (useBias ? 2 : 1) || w[0]!.rank !== rank || w.some((t) => t.dtype !== 'float32'))
      throw new Unsupported(`layer ${layer.name}: unexpected weights`);
    return [w[0]!, useBias ? w[1]! : null];
  };

  const stepFor = (layer: PlanLayer, inputRank: number): Step => {
    const cls = layer.getClassName();
    const c = layer.getConfig();
    switch (cls) {
      case 'Dropout':
        return ([x]) => x!;
      case 'Flatten':
        return ([x]) => tf.reshape(x!, [x!.shape[0]!, -1]);
      case 'Activation': {
        const act = activation(layer, c.activation);
        return ([x]) => act(x!);
      }
      case 'Concatenate': {
        const axis = c.axis ?? -1;
        return (xs) => tf.concat(xs, axis);
      }
      case 'MaxPooling2D':
      case 'AveragePooling2D': {
        checkChannelsLast(layer, c);
        const [ph, pw] = pair(c.poolSize, 2);
        const [sh, sw] = pair(c.strides, ph);
        const attrs = [
          T,
          ints('ksize', [1, ph, pw, 1]),
          ints('strides', [1, sh, sw, 1]),
          str('padding', padding(layer, c)),
          NHWC,
        ];
        const name = cls === 'MaxPooling2D' ? 'MaxPool' : 'AvgPool';
        return ([x]) => op(name, attrs, [x!]);
      }
      case 'Conv2D': {
        checkChannelsLast(layer, c);
        const [kernel, bias] = weights(layer, c, 4);
        const [sh, sw] = pair(c.strides, 1);
        const [dh, dw] = pair(c.dilationRate, 1);
        const attrs = [
          T,
          ints('strides', [1, sh, sw, 1]),
          bool('use_cudnn_on_gpu', true),
          str('padding', padding(layer, c)),
          NHWC,
          ints('dilations', [1, dh, dw, 1]),
        ];
        const act = activation(layer, c.activation);
        const biasAttrs = [T, NHWC];
        return ([x]) => {
          const y = op('Conv2D', attrs, [x!, kernel]);
          return act(bias ? op('BiasAdd', biasAttrs, [y, bias]) : y);
        };
      }
      case 'Dense': {
        if (inputRank !== 2) throw new Unsupported(`layer ${layer.name}: dense layer on a rank-${inputRank} input`);
        const [kernel, bias] = weights(layer, c, 2);
        const attrs = [T, bool('transpose_a', false), bool('transpose_b', false)];
        const act = activation(layer, c.activation);
        const biasAttrs = [T, NHWC];
        return ([x]) => {
          const y = op('MatMul', attrs, [x!, kernel]);
          return act(bias ? op('BiasAdd', biasAttrs, [y, bias]) : y);
        };
      }
      default:
        throw new Unsupported(`layer ${layer.name}: ${cls} layers`);
    }
  };

  const layers = model.layers as unknown as PlanLayer[];
  // A Sequential model's input layer is not among its layers: name the inputs by their tensors.
  const inputNames = model.inputs.map((t) => t.sourceLayer.name);
  const outputNames = model.outputs.map((t) => t.sourceLayer.name);
  const ranks = new Map<string, number>();
  inputNames.forEach((n, i) => ranks.set(n, model.inputs[i]!.shape.length));
  const steps: { layer: string; from: string[]; step: Step }[] = [];
  for (const layer of layers) {
    if (layer.inboundNodes.length !== 1) throw new Unsupported(`layer ${layer.name} is shared or unused`);
    if (layer.getClassName() === 'InputLayer') continue;
    const from = layer.inboundNodes[0]!.inboundLayers.map((l) => l.name);
    const inputRank = ranks.get(from[0]!);
    if (inputRank === undefined) throw new Unsupported(`layer ${layer.name} comes before its input`);
    steps.push({ layer: layer.name, from, step: stepFor(layer, inputRank) });
    const out = (layer as unknown as { outputShape: (number | null)[] }).outputShape;
    ranks.set(layer.name, out.length);
  }
  return (inputs) => {
    const values = new Map<string, Tensor>();
    inputNames.forEach((n, i) => values.set(n, inputs[i]!));
    for (const s of steps) values.set(s.layer, s.step(s.from.map((f) => values.get(f)!)));
    return outputNames.map((n) => values.get(n)!);
  };
}

/** tfjs-layers' execute: the same network without predict's batching loop. */
function layersPlan(model: LayersModel, reason: string): InferencePlan {
  const outputs = model.outputs.map((o) => o.name);
  return {
    kind: 'layers',
    fallbackReason: reason,
    run: (inputs) => {
      const out = model.execute(inputs.length === 1 ? inputs[0]! : [...inputs], outputs);
      return Array.isArray(out) ? out : [out];
    },
  };
}

/** The compiled plan, or tfjs-layers' execute when the model has something the compiler does not handle. */
export function inferencePlan(tf: Tf, model: LayersModel): InferencePlan {
  try {
    const run = compileOps(tf, model);
    return { kind: 'ops', fallbackReason: null, run };
  } catch (err) {
    if (!(err instanceof Unsupported)) throw err;
    return layersPlan(model, err.message);
  }
}

/**
 * `inferencePlan`, checked (see `checkPlan`): what `Servable` runs.
 */
export function checkedInferencePlan(tf: Tf, model: LayersModel, probe: (batch: number) => Tensor[]): InferencePlan {
  return checkPlan(tf, model, inferencePlan(tf, model), probe);
}

/**
 * A compiled `plan` and `model.predict` run on the same probe inputs (`probe(batch)`: one tensor
 * per model input); unless they agree to within 1e-5 (absolute, or relative for large values), the
 * model runs on tfjs-layers' execute instead.
 */
export function checkPlan(
  tf: Tf,
  model: LayersModel,
  plan: InferencePlan,
  probe: (batch: number) => Tensor[],
): InferencePlan {
  if (plan.kind !== 'ops') return plan;
  const worst = tf.tidy((): number | string => {
    const inputs = probe(3);
    const expected = model.predict(inputs.length === 1 ? inputs[0]! : inputs) as Tensor | Tensor[];
    const want = Array.isArray(expected) ? expected : [expected];
    let got: Tensor[];
    try {
      got = plan.run(inputs);
    } catch (err) {
      return `the compiled ops failed on the probe batch: ${(err as Error).message}`;
    }
    if (got.length !== want.length) return Infinity;
    let d = 0;
    want.forEach((w, k) => {
      const g = got[k]!;
      if (g.shape.join() !== w.shape.join()) d = Infinity;
      else {
        const a = w.dataSync();
        const x = g.dataSync();
        for (let i = 0; i < a.length; i++) d = Math.max(d, Math.abs(a[i]! - x[i]!) / Math.max(1, Math.abs(a[i]!)));
      }
    });
    return d;
  });
  if (typeof worst === 'string') return layersPlan(model, worst);
  return worst <= 1e-5
    ? plan
    : layersPlan(model, `the compiled ops differ from tfjs-layers by ${worst} on the probe batch`);
}
