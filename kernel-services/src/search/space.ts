/**
 * Search spaces: double (linear or log), integer, discrete and categorical parameters. A space is
 * validated once, with errors that name the parameter and the field, then sampled with a seeded PRNG
 * and enumerated for grid search. Each parameter also maps to and from the unit interval, which is
 * what TPE models.
 */
import { ParamSpec, SearchSpaceSpec, type ParamSpecInput, type ParamValue, type TrialParams } from '@floe/schema';
import type { Prng } from './prng';

export class SearchSpaceError extends Error {
  override name = 'SearchSpaceError';
}

/** Grids larger than this are refused: enumerate a smaller space or use random search. */
export const MAX_GRID_SIZE = 100_000;

export class SearchSpace {
  readonly spec: SearchSpaceSpec;
  readonly names: readonly string[];

  private constructor(spec: SearchSpaceSpec) {
    this.spec = spec;
    this.names = Object.keys(spec);
  }

  /** Validates a space definition, e.g. `{ lr: { type: 'double', min: 1e-4, max: 1e-1, scale: 'log' } }`. */
  static from(input: SearchSpace | Record<string, ParamSpecInput>, where = 'search space'): SearchSpace {
    if (input instanceof SearchSpace) return input;
    if (typeof input !== 'object' || input === null || Array.isArray(input)) {
      throw new SearchSpaceError(
        `${where}: expected an object of parameters, got ${Array.isArray(input) ? 'an array' : typeof input}`,
      );
    }
    if (Object.keys(input).length === 0) throw new SearchSpaceError(`${where}: has no parameters`);
    const spec: SearchSpaceSpec = {};
    for (const [name, raw] of Object.entries(input)) {
      const parsedName = SearchSpaceSpec.keyType.safeParse(name);
      if (!parsedName.success)
        throw new SearchSpaceError(`${where}: parameter name '${name}': ${parsedName.error.issues[0]!.message}`);
      const parsed = ParamSpec.safeParse(raw);
      if (!parsed.success) {
        const issue = parsed.error.issues[0]!;
        const field = issue.path.length ? `field '${issue.path.join('.')}'` : 'definition';
        throw new SearchSpaceError(`${where}: parameter '${name}': ${field}: ${issue.message}`);
      }
      spec[name] = checkParam(name, parsed.data, where);
    }
    return new SearchSpace(spec);
  }

  /** One configuration, uniformly at random (log-uniform for log-scaled parameters). */
  sample(rng: Prng): TrialParams {
    const params: TrialParams = {};
    for (const name of this.names) params[name] = this.fromUnit(name, rng.next());
    return params;
  }

  /** Maps u ∈ [0, 1) to a value of the parameter (the inverse of `toUnit` up to rounding). */
  fromUnit(name: string, u: number): ParamValue {
    const p = this.param(name);
    const x = Math.min(Math.max(u, 0), 1);
    switch (p.type) {
      case 'double':
        if (p.scale === 'log') return Math.exp(Math.log(p.min) + x * (Math.log(p.max) - Math.log(p.min)));
        return p.min + x * (p.max - p.min);
      case 'integer': {
        // Each integer owns an equal slice of [0, 1) (of log space when log-scaled).
        if (p.scale === 'log') {
          const lo = Math.log(p.min - 0.5 + 1e-9);
          const hi = Math.log(p.max + 0.5);
          return clampInt(Math.round(Math.exp(lo + x * (hi - lo))), p.min, p.max);
        }
        return clampInt(p.min + Math.floor(x * (p.max - p.min + 1)), p.min, p.max);
      }
      case 'discrete':
      case 'categorical':
        return p.values[Math.min(Math.floor(x * p.values.length), p.values.length - 1)]!;
    }
  }

  /** Where a value sits in [0, 1]: the coordinate TPE's densities live on. */
  toUnit(name: string, value: ParamValue): number {
    const p = this.param(name);
    switch (p.type) {
      case 'double': {
        const v = Number(value);
        if (p.max === p.min) return 0.5;
        return p.scale === 'log'
          ? (Math.log(v) - Math.log(p.min)) / (Math.log(p.max) - Math.log(p.min))
          : (v - p.min) / (p.max - p.min);
      }
      case 'integer': {
        const v = Number(value);
        if (p.scale === 'log') {
          const lo = Math.log(p.min - 0.5 + 1e-9);
          const hi = Math.log(p.max + 0.5);
          return (Math.log(v) - lo) / (hi - lo);
        }
        return (v - p.min + 0.5) / (p.max - p.min + 1);
      }
      case 'discrete':
      case 'categorical': {
        const i = p.values.findIndex((x) => x === value);
        return (i + 0.5) / p.values.length;
      }
    }
  }

  /** True for parameters TPE models with a categorical distribution instead of a kernel density. */
  isCategorical(name: string): boolean {
    return this.param(name).type === 'categorical';
  }

  /** Number of choices of a categorical/discrete parameter. */
  choices(name: string): readonly ParamValue[] {
    const p = this.param(name);
    if (p.type !== 'categorical' && p.type !== 'discrete')
      throw new SearchSpaceError(`parameter '${name}' has no fixed choices`);
    return p.values;
  }

  /** The values a grid search enumerates for one parameter. */
  gridValues(name: string): ParamValue[] {
    const p = this.param(name);
    switch (p.type) {
      case 'discrete':
      case 'categorical':
        return [...p.values];
      case 'integer': {
        const n = p.max - p.min + 1;
        if (n > MAX_GRID_SIZE)
          throw new SearchSpaceError(`grid: integer parameter '${name}' has ${n} values; narrow it`);
        return Array.from({ length: n }, (_, i) => p.min + i);
      }
      case 'double': {
        if (p.gridPoints === undefined) {
          throw new SearchSpaceError(`grid: double parameter '${name}' needs 'gridPoints' (how many values to try)`);
        }
        return Array.from({ length: p.gridPoints }, (_, i) => this.fromUnit(name, i / (p.gridPoints! - 1)) as number);
      }
    }
  }

  /** Every grid point, in lexicographic order of the parameters as declared (last varies fastest). */
  grid(): TrialParams[] {
    const axes = this.names.map((n) => this.gridValues(n));
    const size = axes.reduce((a, v) => a * v.length, 1);
    if (size > MAX_GRID_SIZE)
      throw new SearchSpaceError(`grid: ${size} points is more than ${MAX_GRID_SIZE}; narrow the space`);
    const out: TrialParams[] = [];
    const index = new Array<number>(axes.length).fill(0);
    for (let k = 0; k < size; k++) {
      const params: TrialParams = {};
      this.names.forEach((n, i) => (params[n] = axes[i]![index[i]!]!));
      out.push(params);
      for (let i = axes.length - 1; i >= 0; i--) {
        index[i]!++;
        if (index[i]! < axes[i]!.length) break;
        index[i] = 0;
      }
    }
    return out;
  }

  /** Checks that a configuration belongs to the space (used when configs come from files or resumes). */
  check(params: TrialParams, where = 'params'): void {
    for (const name of this.names) {
      if (!(name in params)) throw new SearchSpaceError(`${where}: missing parameter '${name}'`);
      const p = this.param(name);
      const v = params[name]!;
      const ok =
        p.type === 'double'
          ? typeof v === 'number' && v >= p.min && v <= p.max
          : p.type === 'integer'
            ? Number.isInteger(v) && (v as number) >= p.min && (v as number) <= p.max
            : p.values.some((x) => x === v);
      if (!ok)
        throw new SearchSpaceError(`${where}: parameter '${name}' = ${JSON.stringify(v)} is outside its definition`);
    }
  }

  private param(name: string): ParamSpec {
    const p = this.spec[name];
    if (!p) throw new SearchSpaceError(`unknown parameter '${name}'; the space has ${this.names.join(', ')}`);
    return p;
  }
}

function clampInt(v: number, lo: number, hi: number): number {
  return Math.min(Math.max(v, lo), hi);
}

function checkParam(name: string, p: ParamSpec, where: string): ParamSpec {
  const fail = (msg: string): never => {
    throw new SearchSpaceError(`${where}: parameter '${name}': ${msg}`);
  };
  switch (p.type) {
    case 'double':
      if (!Number.isFinite(p.min) || !Number.isFinite(p.max)) fail('min and max must be finite numbers');
      if (!(p.min < p.max)) fail(`min (${p.min}) must be below max (${p.max})`);
      if (p.scale === 'log' && p.min <= 0) fail(`a log scale needs min > 0, got ${p.min}`);
      break;
    case 'integer':
      if (!(p.min <= p.max)) fail(`min (${p.min}) must not exceed max (${p.max})`);
      if (p.scale === 'log' && p.min <= 0) fail(`a log scale needs min > 0, got ${p.min}`);
      break;
    case 'discrete': {
      if (p.values.some((v) => !Number.isFinite(v))) fail('values must be finite numbers');
      if (new Set(p.values).size !== p.values.length) fail('values must be distinct');
      // Ordered so that neighbouring choices are neighbours on the unit interval (matters for TPE).
      return { ...p, values: [...p.values].sort((a, b) => a - b) };
    }
    case 'categorical':
      if (new Set(p.values).size !== p.values.length) fail('values must be distinct');
      break;
  }
  return p;
}
