import { z } from 'zod';
import { MIME_PREFIX } from './version';

/**
 * Hyperparameter search and ablation: the search-space contract and the notebook MIME payloads
 * (`application/vnd.floe.search+json`, `application/vnd.floe.ablation+json`, version_major 1).
 */

export const SEARCH_MIME = `${MIME_PREFIX}search+json` as const;
export const ABLATION_MIME = `${MIME_PREFIX}ablation+json` as const;

/** A parameter name: it becomes a key of the trial function's params and a column in tables. */
export const ParamName = z
  .string()
  .regex(/^[A-Za-z_][A-Za-z0-9_.]{0,62}$/, 'a parameter name is a letter or _ then up to 62 letters, digits, _ or .');

/** A real-valued parameter in [min, max]; `log` samples uniformly in log space (min must be > 0). */
export const DoubleParam = z.object({
  type: z.literal('double'),
  min: z.number(),
  max: z.number(),
  scale: z.enum(['linear', 'log']).default('linear'),
  /** Points per axis when a grid search enumerates this parameter. */
  gridPoints: z.number().int().min(2).optional(),
});
export type DoubleParam = z.infer<typeof DoubleParam>;

/** An integer in [min, max] inclusive; `log` samples uniformly in log space. */
export const IntegerParam = z.object({
  type: z.literal('integer'),
  min: z.number().int(),
  max: z.number().int(),
  scale: z.enum(['linear', 'log']).default('linear'),
});
export type IntegerParam = z.infer<typeof IntegerParam>;

/** One of a few ordered numbers, e.g. filter counts [8, 16, 32]. */
export const DiscreteParam = z.object({
  type: z.literal('discrete'),
  values: z.array(z.number()).min(1),
});
export type DiscreteParam = z.infer<typeof DiscreteParam>;

/** One of a few unordered choices, e.g. optimizers ['adam', 'sgd']. */
export const CategoricalParam = z.object({
  type: z.literal('categorical'),
  values: z.array(z.union([z.string(), z.number(), z.boolean()])).min(1),
});
export type CategoricalParam = z.infer<typeof CategoricalParam>;

export const ParamSpec = z.discriminatedUnion('type', [DoubleParam, IntegerParam, DiscreteParam, CategoricalParam]);
export type ParamSpec = z.infer<typeof ParamSpec>;
export type ParamSpecInput = z.input<typeof ParamSpec>;

export const SearchSpaceSpec = z.record(ParamName, ParamSpec);
export type SearchSpaceSpec = z.infer<typeof SearchSpaceSpec>;

export type ParamValue = string | number | boolean;
export type TrialParams = Record<string, ParamValue>;

export const Direction = z.enum(['max', 'min']);
export type Direction = z.infer<typeof Direction>;

export const TrialStatus = z.enum(['pending', 'running', 'completed', 'stopped', 'error', 'cancelled']);
export type TrialStatus = z.infer<typeof TrialStatus>;

export const SearchStatus = z.enum(['running', 'stopping', 'completed', 'stopped', 'failed']);
export type SearchStatus = z.infer<typeof SearchStatus>;

const ParamValueSchema = z.union([z.string(), z.number(), z.boolean()]);

/** One trial as displays show it. `curve` holds the metric per reported step of its last attempt. */
export const TrialSummary = z.object({
  number: z.number().int().positive(),
  status: TrialStatus,
  params: z.record(z.string(), ParamValueSchema),
  /** ASHA resource (e.g. epochs) the trial ran with, or null. */
  budget: z.number().nullable(),
  rung: z.number().int().nullable(),
  promotedFrom: z.number().int().nullable(),
  metric: z.number().nullable(),
  bestMetric: z.number().nullable(),
  steps: z.number().int().nonnegative(),
  /** Why the trial ended early: `median rule: ...`, `search stopped`, `worker crashed: ...`, or null. */
  stopReason: z.string().nullable(),
  error: z.string().nullable(),
  attempts: z.number().int().nonnegative(),
  durationMs: z.number().nullable(),
  worker: z.string().nullable(),
  curve: z.array(z.number()),
  /** Run id of the trial in the experiment tracker, when recorded there. */
  runId: z.number().int().nullable(),
});
export type TrialSummary = z.infer<typeof TrialSummary>;

/** A parallel-coordinates chart: one axis per parameter and one for the metric, one line per trial. */
export const ParallelCoordinatesSpec = z.object({
  axes: z.array(
    z.object({
      name: z.string(),
      kind: z.enum(['linear', 'log', 'categorical']),
      /** [min, max] for numeric axes; the ordered choices for categorical ones. */
      domain: z.array(ParamValueSchema),
    }),
  ),
  lines: z.array(z.object({ trial: z.number().int(), values: z.array(ParamValueSchema), stopped: z.boolean() })),
});
export type ParallelCoordinatesSpec = z.infer<typeof ParallelCoordinatesSpec>;

export const SearchBundle = z.object({
  version_major: z.literal(1),
  search: z.object({
    id: z.number().int(),
    name: z.string(),
    kind: z.enum(['search', 'ablation']),
    status: SearchStatus,
    optimizer: z.string(),
    metric: z.string(),
    direction: Direction,
    mode: z.enum(['async', 'sync']),
    workers: z.number().int().positive(),
    numTrials: z.number().int().nonnegative(),
    createdAt: z.string(),
    finishedAt: z.string().nullable(),
    runId: z.number().int().nullable(),
  }),
  space: SearchSpaceSpec,
  trials: z.array(TrialSummary),
  best: z
    .object({ trial: z.number().int(), metric: z.number(), params: z.record(z.string(), ParamValueSchema) })
    .nullable(),
  parallelCoordinates: ParallelCoordinatesSpec,
});
export type SearchBundle = z.infer<typeof SearchBundle>;

export const AblationComponentKind = z.enum(['base', 'feature', 'layer', 'layer_group']);
export type AblationComponentKind = z.infer<typeof AblationComponentKind>;

export const AblationRow = z.object({
  trial: z.number().int().positive(),
  /** `base` for the full model; otherwise the removed feature, layer or layer group. */
  component: z.string(),
  kind: AblationComponentKind,
  /** What was left out: feature names or layer names. */
  removed: z.array(z.string()),
  status: TrialStatus,
  metric: z.number().nullable(),
  /** metric − base metric (null when either is missing). Negative under `max` = the component helped. */
  delta: z.number().nullable(),
  runId: z.number().int().nullable(),
});
export type AblationRow = z.infer<typeof AblationRow>;

export const AblationBundle = z.object({
  version_major: z.literal(1),
  study: z.object({
    id: z.number().int(),
    name: z.string(),
    status: SearchStatus,
    metric: z.string(),
    direction: Direction,
    baseMetric: z.number().nullable(),
  }),
  rows: z.array(AblationRow),
  /** Bar chart: one bar per removed component, height = delta. */
  chart: z.object({
    kind: z.literal('bar'),
    x: z.literal('component'),
    y: z.literal('delta'),
    bars: z.array(z.object({ component: z.string(), kind: AblationComponentKind, delta: z.number() })),
  }),
});
export type AblationBundle = z.infer<typeof AblationBundle>;
