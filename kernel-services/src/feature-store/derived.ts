/**
 * Derived features, materialised into a new feature group version with lineage (source group,
 * version, commit, and the function of each derived feature). As in the ExtremeEarth notebooks:
 * - band average: (HH + HV) / 2 of the dB bands;
 * - band ratio: HH / HV in linear power, which in dB is HH − HV.
 * Materialising (rather than computing on read) makes the derived values versioned, covered by
 * statistics and validation, and as cheap to read in training as any other feature.
 */
import type { FeatureSchema, TensorFeature } from '@floe/schema';
import { arrowToRows } from './arrow';
import { FeatureStoreError } from './errors';
import type { AsOf, FeatureGroup } from './feature-group';
import type { FeatureStore } from './feature-store';

/** out[i] = f(inputs[0][i], inputs[1][i], ...) for every element. */
export type ElementwiseFunction = (inputs: Float32Array[], out: Float32Array) => void;

export const DERIVED_FUNCTIONS: Record<
  string,
  { arity: number; unit: string; compute: ElementwiseFunction; description: string }
> = {
  bandAverage: {
    arity: 2,
    unit: 'dB',
    description: '(HH + HV) / 2 of two dB bands',
    compute: ([a, b], out) => {
      for (let i = 0; i < out.length; i++) out[i] = (a![i]! + b![i]!) / 2;
    },
  },
  bandRatio: {
    arity: 2,
    unit: 'dB',
    description: 'HH / HV in linear power, i.e. HH − HV in dB',
    compute: ([a, b], out) => {
      for (let i = 0; i < out.length; i++) out[i] = a![i]! - b![i]!;
    },
  },
};

export interface DerivedFeatureDefinition {
  name: string;
  /** A built-in function name (bandAverage, bandRatio) or a custom elementwise function. */
  fn: keyof typeof DERIVED_FUNCTIONS | { name: string; compute: ElementwiseFunction; unit?: string };
  inputs: string[];
  description?: string;
}

export interface DeriveOptions {
  source: FeatureGroup;
  /** Source commit to derive from. Default: latest. */
  commit?: AsOf;
  name: string;
  version?: number;
  description?: string;
  /** Source features copied as they are. Default: all. The primary key is always kept. */
  keep?: string[];
  derived: DerivedFeatureDefinition[];
  ruleSet?: unknown;
  /** Rows per streamed chunk. */
  chunkRows?: number;
}

export async function deriveFeatureGroup(fs: FeatureStore, opts: DeriveOptions): Promise<FeatureGroup> {
  const src = opts.source;
  const commit = await src.commit(opts.commit);
  if (!commit) throw new FeatureStoreError(`derive: ${src.name} v${src.version} has no commit to derive from`);
  const keep = [...new Set([...src.info.primaryKey, ...(opts.keep ?? src.schema.map((f) => f.name))])];
  const schema: FeatureSchema = [];
  for (const k of keep) {
    const f = src.schema.find((s) => s.name === k);
    if (!f) throw new FeatureStoreError(`derive: ${src.name} has no feature '${k}' to keep`);
    schema.push(f);
  }
  const plans = opts.derived.map((d) => {
    const fn =
      typeof d.fn === 'string'
        ? DERIVED_FUNCTIONS[d.fn]
        : { arity: d.inputs.length, unit: d.fn.unit ?? '', compute: d.fn.compute, description: '' };
    if (!fn)
      throw new FeatureStoreError(
        `derive: unknown function '${String(d.fn)}' for '${d.name}' (built-in: ${Object.keys(DERIVED_FUNCTIONS).join(', ')})`,
      );
    if (d.inputs.length !== fn.arity)
      throw new FeatureStoreError(`derive: '${d.name}' needs ${fn.arity} inputs, got ${d.inputs.length}`);
    const inputs = d.inputs.map((n) => {
      const f = src.schema.find((s) => s.name === n);
      if (!f || f.kind !== 'tensor')
        throw new FeatureStoreError(`derive: input '${n}' of '${d.name}' is not a tensor feature of ${src.name}`);
      return f;
    });
    const shape = inputs[0]!.shape;
    for (const f of inputs) {
      if (JSON.stringify(f.shape) !== JSON.stringify(shape))
        throw new FeatureStoreError(`derive: inputs of '${d.name}' have different shapes`);
    }
    const feature: TensorFeature = {
      name: d.name,
      kind: 'tensor',
      dtype: 'float32',
      shape,
      nullable: inputs.some((f) => f.nullable),
      unit: fn.unit,
      description: d.description ?? fn.description,
    };
    schema.push(feature);
    return { def: d, fn, feature };
  });
  const group = await fs.createFeatureGroup({
    name: opts.name,
    version: opts.version,
    description: opts.description ?? `derived from ${src.name} v${src.version} commit ${commit.number}`,
    schema,
    primaryKey: src.info.primaryKey,
    eventTime: src.info.eventTime && keep.includes(src.info.eventTime) ? src.info.eventTime : undefined,
    ruleSet: opts.ruleSet,
    lineage: {
      source: { name: src.name, version: src.version, commit: commit.number },
      derived: plans.map((p) => ({
        name: p.def.name,
        function: typeof p.def.fn === 'string' ? p.def.fn : p.def.fn.name,
        inputs: p.def.inputs,
      })),
      kept: keep,
    },
  });
  const needed = [...new Set([...keep, ...plans.flatMap((p) => p.def.inputs)])];
  async function* rows(): AsyncIterable<Record<string, unknown>[]> {
    for await (const batch of src.scan({ asOf: commit!.number, columns: needed })) {
      yield arrowToRows(batch).map((r) => {
        const out: Record<string, unknown> = {};
        for (const k of keep) out[k] = r[k];
        for (const p of plans) {
          const ins = p.def.inputs.map((n) => r[n] as Float32Array | null);
          if (ins.some((x) => x === null)) out[p.def.name] = null;
          else {
            const o = new Float32Array(ins[0]!.length);
            p.fn.compute(ins as Float32Array[], o);
            out[p.def.name] = o;
          }
        }
        return out;
      });
    }
  }
  await group.insert(rows(), { chunkRows: opts.chunkRows });
  return group;
}
