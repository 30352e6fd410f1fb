import type { ModelVersion } from '@floe/schema';
import type { LayersModel } from '@tensorflow/tfjs-node';
import type { ReferenceStatistics } from '../monitoring/reference';
import { loadTf } from '../training/backend';
import { checkedInferencePlan, type InferencePlan } from './inference-plan';
import { sizeOf, type ServingSignature } from './signature';

/**
 * One loaded model version. Requests hold it (`acquire`/`release`) from resolution to response, so
 * a version that a newer one replaces (`retire`) is disposed only once its last request is done.
 */
export class Servable {
  private inflight = 0;
  private retired = false;
  private disposedFlag = false;
  /** Per-channel standardisation, as float32 (the precision training applied it in); null: none. */
  private readonly mean: Float32Array | null;
  private readonly std: Float32Array | null;
  /** How the network runs (see inference-plan.ts). */
  readonly plan: InferencePlan;
  private readonly onDisposed: (() => void)[] = [];

  constructor(
    readonly model: LayersModel,
    readonly version: ModelVersion,
    readonly signature: ServingSignature,
    /** Training statistics for the request log's histograms and for monitoring; null when unknown. */
    readonly reference: ReferenceStatistics | null,
  ) {
    const tf = loadTf();
    const pre = signature.preprocessing;
    this.mean = pre ? Float32Array.from(pre.channelMean) : null;
    this.std = pre ? Float32Array.from(pre.channelStd) : null;
    this.plan = checkedInferencePlan(tf, model, (batch) =>
      model.inputs.map((input, k) =>
        tf.randomNormal([batch, ...(input.shape.slice(1) as number[])], 0, 1, 'float32', 7 + k),
      ),
    );
  }

  get name(): string {
    return this.version.name;
  }

  get number(): number {
    return this.version.version;
  }

  get disposed(): boolean {
    return this.disposedFlag;
  }

  get inFlight(): number {
    return this.inflight;
  }

  acquire(): void {
    if (this.disposedFlag) throw new Error(`model ${this.name} version ${this.number} is already unloaded`);
    this.inflight++;
  }

  release(): void {
    this.inflight--;
    if (this.retired && this.inflight === 0) this.dispose();
  }

  /** Stops taking new requests' references; frees the model once the running ones are done. */
  retire(): Promise<void> {
    this.retired = true;
    if (this.inflight === 0) this.dispose();
    return this.disposedFlag ? Promise.resolve() : new Promise((resolve) => this.onDisposed.push(resolve));
  }

  private dispose(): void {
    if (this.disposedFlag) return;
    this.disposedFlag = true;
    this.model.dispose();
    for (const f of this.onDisposed.splice(0)) f();
  }

  /**
   * Runs the network on `count` instances (one array per signature input, raw units) and returns
   * one array per output. Synchronous: tfjs-node runs the graph on TensorFlow's own threads.
   */
  predict(values: readonly Float32Array[], count: number): Float32Array[] {
    const tf = loadTf();
    const sig = this.signature;
    return tf.tidy(() => {
      const feeds = sig.inputs.map((input, k) => {
        const data = values[k]!;
        if (input.role === 'angle') {
          const norm = sig.angleNormalization ?? { mean: 0, std: 1 };
          // As in training: a missing angle becomes the mean (0 after standardisation).
          const a = new Float32Array(count);
          for (let i = 0; i < count; i++) a[i] = Number.isFinite(data[i]!) ? (data[i]! - norm.mean) / norm.std : 0;
          return tf.tensor2d(a, [count, 1]);
        }
        const shape = [count, ...input.shape];
        return tf.tensor(this.mean && this.std ? standardize(data, this.mean, this.std) : data, shape, 'float32');
      });
      return this.plan.run(feeds).map((t) => t.dataSync() as Float32Array);
    });
  }

  /** One prediction on zeros so the first request does not pay for kernel set-up. */
  warmUp(): void {
    const zeros = this.signature.inputs.map((i) => new Float32Array(sizeOf(i.shape)));
    this.predict(zeros, 1);
  }
}

/**
 * `(x - mean[c]) / std[c]` over channels-last values, rounded to float32 after each step as
 * TensorFlow's float32 Sub and Div round (for float32 operands, a double result rounded once to
 * float32 is the float32 result), so the network sees the same bits as with the ops.
 */
export function standardize(data: Float32Array, mean: Float32Array, std: Float32Array): Float32Array {
  const C = mean.length;
  const out = new Float32Array(data.length);
  for (let c = 0; c < C; c++) {
    const m = mean[c]!;
    const s = std[c]!;
    for (let i = c; i < data.length; i += C) out[i] = Math.fround(data[i]! - m) / s;
  }
  return out;
}
