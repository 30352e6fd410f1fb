import type { LayersModel, Tensor, Tensor4D } from '@tensorflow/tfjs-node';
import { loadTf } from './backend';

/** A map over one patch (H×W), row-major, normalised to [0, 1] for display. */
export interface Heatmap {
  height: number;
  width: number;
  values: Float32Array;
  /** Largest raw magnitude before normalisation (0 means the map is flat). */
  scale: number;
}

/** Other inputs of a multi-input model (e.g. the incidence angle), one row per patch. */
export type ExtraInputs = Tensor[];

function normalise(raw: Float32Array, height: number, width: number): Heatmap {
  let max = 0;
  for (const v of raw) if (v > max) max = v;
  const values = new Float32Array(raw.length);
  if (max > 0) for (let i = 0; i < raw.length; i++) values[i] = raw[i]! / max;
  return { height, width, values, scale: max };
}

function checkPatch(model: LayersModel, patch: Tensor): void {
  const want = model.inputs[0]!.shape.slice(1);
  const got = patch.shape;
  if (got.length !== 3 || want.some((d, i) => d !== null && d !== got[i])) {
    throw new RangeError(
      `explain: patch shape [${got.join(', ')}] does not match the model input [${want.join(', ')}]`,
    );
  }
}

/**
 * Saliency: |∂p/∂x| of the predicted probability with respect to each input pixel, maximised over
 * channels (Simonyan et al.). Shows which pixels the prediction is most sensitive to.
 */
export function saliency(model: LayersModel, patch: Tensor, extra: ExtraInputs = []): Heatmap {
  const tf = loadTf();
  checkPatch(model, patch);
  const [h, w] = patch.shape as [number, number, number];
  const raw = tf.tidy(() => {
    const x = patch.expandDims(0) as Tensor4D;
    const grad = tf.grad((input: Tensor) => {
      const out = model.apply(extra.length ? [input, ...extra] : input, { training: false }) as Tensor;
      return out.sum();
    })(x);
    return grad
      .abs()
      .max(-1)
      .reshape([h * w])
      .dataSync() as Float32Array;
  });
  return normalise(Float32Array.from(raw), h, w);
}

interface GraphNode {
  inputTensors: { id: number }[];
  outputTensors: { id: number }[];
}
interface GraphLayer {
  name: string;
  inboundNodes: GraphNode[];
  apply(x: Tensor | Tensor[], kwargs?: Record<string, unknown>): Tensor | Tensor[];
  getClassName(): string;
}

/** The last 2-D convolution: Grad-CAM's default target layer. */
function lastConvLayer(model: LayersModel): string {
  const conv = [...model.layers].reverse().find((l) => l.getClassName() === 'Conv2D');
  if (!conv) throw new RangeError('explain: Grad-CAM needs a model with a Conv2D layer');
  return conv.name;
}

/**
 * Grad-CAM (Selvaraju et al.): weights the feature maps of a convolution layer by the mean gradient of
 * the output with respect to them, keeps the positive part, and upsamples to the patch size. Shows
 * which regions of the patch support the prediction. Works for any functional or sequential model:
 * the layers after the target are re-applied to the target's activation.
 */
export function gradCam(
  model: LayersModel,
  patch: Tensor,
  opts: { layer?: string; extra?: ExtraInputs } = {},
): Heatmap {
  const tf = loadTf();
  checkPatch(model, patch);
  const extra = opts.extra ?? [];
  const layerName = opts.layer ?? lastConvLayer(model);
  const target = model.getLayer(layerName) as unknown as GraphLayer;
  const [h, w] = patch.shape as [number, number, number];
  const layers = model.layers as unknown as GraphLayer[];
  const targetOutId = target.inboundNodes[0]!.outputTensors[0]!.id;

  const cam = tf.tidy(() => {
    const inputs = [patch.expandDims(0), ...extra];
    const activation = tf
      .model({ inputs: model.inputs, outputs: model.getLayer(layerName).output })
      .predict(inputs.length > 1 ? inputs : inputs[0]!) as Tensor;

    // Forward pass from the activation to the output through the model's own graph.
    const forwardFrom = (act: Tensor): Tensor => {
      const values = new Map<number, Tensor>();
      model.inputs.forEach((s, i) => values.set(s.id, inputs[i]!));
      values.set(targetOutId, act);
      for (const layer of layers) {
        const node = layer.inboundNodes[0];
        if (!node || node.inputTensors.length === 0) continue;
        if (node.outputTensors.every((t) => values.has(t.id))) continue;
        const args = node.inputTensors.map((t) => values.get(t.id));
        if (args.some((a) => a === undefined)) continue;
        const out = layer.apply(args.length === 1 ? args[0]! : (args as Tensor[]), { training: false });
        (Array.isArray(out) ? out : [out]).forEach((t, i) => values.set(node.outputTensors[i]!.id, t));
      }
      const result = values.get(model.outputs[0]!.id);
      if (!result) throw new Error(`explain: could not re-run the model after layer '${layerName}'`);
      return result.sum();
    };

    const grads = tf.grad(forwardFrom)(activation); // [1, h', w', k]
    const weights = grads.mean([1, 2], true); // [1, 1, 1, k]
    const map = tf.relu(activation.mul(weights).sum(-1, true)); // [1, h', w', 1]
    return tf.image
      .resizeBilinear(map as Tensor4D, [h, w])
      .reshape([h * w])
      .dataSync() as Float32Array;
  });
  return normalise(Float32Array.from(cam), h, w);
}
