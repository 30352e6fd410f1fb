/**
 * Seeded randomness for training: shuffling, augmentation and — through `withSeededMathRandom` — the
 * weight initialisers and dropout masks of tfjs, which draw their seeds from `Math.random` when no
 * seed is given. TensorFlow's own multi-threaded kernels may still differ in the last bits.
 */

/** mulberry32: a small, fast 32-bit generator; the state is one integer, so it can be checkpointed. */
export class SeededRandom {
  private state: number;

  constructor(seed: number) {
    if (!Number.isFinite(seed)) throw new RangeError(`seed must be a finite number, got ${seed}`);
    this.state = Math.floor(seed) >>> 0;
  }

  /** A float in [0, 1). */
  next(): number {
    let t = (this.state = (this.state + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  /** An integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }

  /** 0..n-1 in a random order (Fisher–Yates). */
  permutation(n: number): Int32Array {
    const out = new Int32Array(n);
    for (let i = 0; i < n; i++) out[i] = i;
    for (let i = n - 1; i > 0; i--) {
      const j = this.int(i + 1);
      const tmp = out[i]!;
      out[i] = out[j]!;
      out[j] = tmp;
    }
    return out;
  }
}

/** A seed for a sub-stream (epoch, purpose), so each epoch's shuffle does not depend on earlier epochs. */
export function deriveSeed(seed: number, ...parts: number[]): number {
  let h = (Math.floor(seed) ^ 0x9e3779b9) >>> 0;
  for (const p of parts) {
    h = Math.imul(h ^ (p >>> 0), 0x85ebca6b) >>> 0;
    h = (h ^ (h >>> 13)) >>> 0;
    h = Math.imul(h, 0xc2b2ae35) >>> 0;
    h = (h ^ (h >>> 16)) >>> 0;
  }
  return h;
}

/**
 * Runs `fn` synchronously with `Math.random` drawing from `rng`. tfjs seeds its initialisers and
 * dropout masks from `Math.random()` when none is given, so this makes them reproducible. Only for
 * synchronous code: nothing else can run while the patch is in place.
 */
export function withSeededMathRandom<T>(rng: SeededRandom, fn: () => T): T {
  const original = Math.random;
  Math.random = () => rng.next();
  try {
    return fn();
  } finally {
    Math.random = original;
  }
}
