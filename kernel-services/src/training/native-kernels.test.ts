import { describe, expect, it } from 'vitest';
import type { Tensor } from '@tensorflow/tfjs-node';
import { loadTf } from './backend';
import type { LeanKernelConfig } from './native-kernels';

describe('lean Step kernel (ReLU gradients)', () => {
  it('is installed by loadTf and gives exactly what tfjs-node computes, NaN, infinities and zeros included', () => {
    const tf = loadTf();
    const lean = tf.getKernel('Step', 'tensorflow') as Partial<LeanKernelConfig>;
    expect(lean.floeLean).toBe(true);
    const special = [-2, -0, 0, 1e-30, -1e-30, 3, NaN, Infinity, -Infinity, 1.5e38, -1.5e38];
    // A large tensor too, so TensorFlow's vectorised paths and their remainders are both exercised.
    const values = new Float32Array(100_003);
    for (let i = 0; i < values.length; i++) values[i] = special[i % special.length]! * (1 + (i % 7));
    for (const input of [special, values]) {
      for (const alpha of [0, 0.3]) {
        const x = tf.tensor1d(Float32Array.from(input));
        const got = tf.step(x, alpha);
        // tfjs's reference semantics: NaN stays NaN, x > 0 gives 1, anything else alpha.
        const want = Float32Array.from(input, (v) => (Number.isNaN(v) ? NaN : v > 0 ? 1 : alpha));
        expect(Array.from(got.dataSync())).toEqual(Array.from(want));
        x.dispose();
        got.dispose();
      }
    }
  });

  it('gives the same ReLU gradients as the kernel it replaces', () => {
    const tf = loadTf();
    const lean = tf.getKernel('Step', 'tensorflow') as LeanKernelConfig;
    expect(lean.replaced.kernelFunc).not.toBe(lean.kernelFunc);
    const x = tf.randomNormal([4, 9, 9, 3], 0, 1, 'float32', 3);
    const w = tf.randomNormal([3, 3, 3, 5], 0, 1, 'float32', 4);
    const b = tf.randomNormal([5], 0, 1, 'float32', 5);
    const grads = (): Float32Array[] =>
      tf.tidy(() => {
        const g = tf.grads((xx: Tensor, ww: Tensor) =>
          tf.fused
            .conv2d({ x: xx as never, filter: ww as never, strides: 1, pad: 'valid', bias: b, activation: 'relu' })
            .square()
            .sum(),
        )([x, w]);
        return g.map((t) => t.dataSync() as Float32Array);
      });
    const withLean = grads();
    // The tfjs-node kernel that loadTf replaced.
    tf.unregisterKernel('Step', 'tensorflow');
    tf.registerKernel(lean.replaced);
    try {
      const withOriginal = grads();
      expect(withLean.map((a) => Array.from(a))).toEqual(withOriginal.map((a) => Array.from(a)));
    } finally {
      tf.unregisterKernel('Step', 'tensorflow');
      tf.registerKernel(lean);
    }
  });
});
