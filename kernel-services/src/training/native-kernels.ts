import type { KernelConfig, KernelFunc, Tensor, TensorInfo } from '@tensorflow/tfjs-node';
import type { Tf } from './backend';

/**
 * Leaner tfjs-node kernels with exactly the same results, installed once by `loadTf()`.
 *
 * `Step` is what every ReLU gradient in tfjs goes through (`dy * step(y)`, also inside the fused
 * conv2d/matMul ops tfjs-layers uses). tfjs-node builds it from six TensorFlow ops, two of them
 * full-size fills; on the 32x71x71x16 output of the LeNet's first convolution that cost 21 ms of CPU
 * against 6 ms for `Relu(Sign(x))`, and about 7% of a whole training step (measured for
 * `floe bench train`, docs/benchmarks.md). For alpha = 0 on float32, `Relu(Sign(x))` is the same
 * function: 1 for x > 0 (and +Inf), 0 for x <= 0 (±0 and -Inf), NaN for NaN — checked by
 * native-kernels.test.ts against tfjs-node's own kernel. Anything else keeps the original kernel.
 */
export function installLeanKernels(tf: Tf): void {
  const original = tf.getKernel('Step', 'tensorflow');
  if (!original || (original as Partial<LeanKernelConfig>).floeLean) return;
  const originalFunc = original.kernelFunc as KernelFunc;
  const step: LeanKernelConfig = {
    kernelName: 'Step',
    backendName: 'tensorflow',
    floeLean: true,
    replaced: original,
    kernelFunc: (args) => {
      const x = args.inputs.x as TensorInfo;
      const alpha = (args.attrs as { alpha?: number } | undefined)?.alpha ?? 0;
      if (x.dtype !== 'float32' || alpha !== 0) return originalFunc(args);
      const backend = args.backend as unknown as NodeKernelBackend;
      const attrs = [{ name: 'T', type: backend.binding.TF_ATTR_TYPE, value: backend.binding.TF_FLOAT }];
      const sign = backend.executeSingleOutput('Sign', attrs, [x]);
      const out = backend.executeSingleOutput('Relu', attrs, [sign]);
      sign.dispose();
      return out;
    },
  };
  tf.unregisterKernel('Step', 'tensorflow');
  tf.registerKernel(step);
}

/** A replacement kernel; `replaced` is the tfjs-node kernel it stands in for (tests compare them). */
export interface LeanKernelConfig extends KernelConfig {
  floeLean: true;
  replaced: KernelConfig;
}

/** The part of tfjs-node's NodeJSKernelBackend used here (runs one TensorFlow op by name). */
interface NodeKernelBackend {
  binding: { TF_ATTR_TYPE: number; TF_FLOAT: number };
  executeSingleOutput(
    name: string,
    attrs: { name: string; type: number; value: number }[],
    inputs: TensorInfo[],
  ): Tensor;
}
