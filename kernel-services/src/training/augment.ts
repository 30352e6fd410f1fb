import type { Tensor4D } from '@tensorflow/tfjs-node';
import { loadTf } from './backend';
import type { SeededRandom } from './random';

/**
 * Seeded geometric augmentation for SAR patches: a ship or an iceberg looks the same flipped or
 * turned by 90°, so these transforms add samples without changing labels. Each sample of a batch
 * gets its own transform, drawn from `rng`.
 */
export interface AugmentOptions {
  /** Random horizontal and vertical flips. */
  flips?: boolean;
  /** Random rotations by 0/90/180/270 degrees (square patches only). */
  rot90?: boolean;
}

export function augmentBatch(x: Tensor4D, rng: SeededRandom, opts: AugmentOptions): Tensor4D {
  const tf = loadTf();
  const [n, h, w] = x.shape;
  const mask = (): Tensor4D =>
    tf.tensor4d(
      Float32Array.from({ length: n }, () => (rng.next() < 0.5 ? 1 : 0)),
      [n, 1, 1, 1],
    );
  // out = m * transformed + (1 - m) * x, per sample.
  const choose = (a: Tensor4D, transformed: Tensor4D): Tensor4D => {
    const m = mask();
    return tf.tidy(() => transformed.mul(m).add(a.mul(tf.scalar(1).sub(m))) as Tensor4D);
  };
  return tf.tidy(() => {
    let out = x;
    if (opts.flips) {
      out = choose(out, tf.reverse(out, 2));
      out = choose(out, tf.reverse(out, 1));
    }
    if (opts.rot90) {
      if (h !== w) throw new RangeError(`augment: rot90 needs square patches, got ${h}x${w}`);
      // rot90 = transpose then flip columns; then an optional extra 180° gives all four angles.
      out = choose(out, tf.reverse(tf.transpose(out, [0, 2, 1, 3]), 2));
      out = choose(out, tf.reverse(out, [1, 2]));
    }
    return out === x ? x.clone() : out;
  });
}
