/**
 * A small seeded PRNG (SplitMix32 seeding a Mulberry32 stream). Search randomness is drawn from streams
 * keyed by (search seed, trial number, purpose), so a resumed or replayed search samples exactly the
 * same configurations no matter how many other draws happened before.
 */
export class Prng {
  private state: number;

  constructor(seed: number) {
    this.state = seed >>> 0;
  }

  /** A stream that depends only on the given integers. */
  static keyed(...keys: number[]): Prng {
    let h = 0x9e3779b9;
    for (const k of keys) {
      h = mix32(h ^ mix32((k >>> 0) + 0x7f4a7c15));
      // Fold in the high part too, so keys above 2^32 (large seeds) are not truncated away.
      h = mix32(h ^ Math.floor(k / 0x100000000));
    }
    return new Prng(h);
  }

  /** Uniform in [0, 1). */
  next(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  /** Uniform integer in [lo, hi] (inclusive). */
  int(lo: number, hi: number): number {
    return lo + Math.floor(this.next() * (hi - lo + 1));
  }

  /** Standard normal (Box–Muller). */
  normal(): number {
    let u = this.next();
    while (u <= 1e-12) u = this.next();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * this.next());
  }

  pick<T>(items: readonly T[]): T {
    if (items.length === 0) throw new RangeError('cannot pick from an empty list');
    return items[Math.floor(this.next() * items.length)]!;
  }
}

function mix32(x: number): number {
  x = Math.imul(x ^ (x >>> 16), 0x85ebca6b);
  x = Math.imul(x ^ (x >>> 13), 0xc2b2ae35);
  return (x ^ (x >>> 16)) >>> 0;
}

/** Purposes of keyed streams (kept distinct so adding one never shifts another's draws). */
export const STREAM = { sample: 1, tpe: 2, trialSeed: 3, replay: 4 } as const;
