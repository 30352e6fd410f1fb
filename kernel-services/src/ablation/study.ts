/**
 * Ablation studies (AutoAblation-style leave-one-component-out): one base trial with every component,
 * then one trial per component with that component removed — input features (HH, HV, derived bands,
 * incidence angle), layers, or named groups of layers. The trials run on the same executors as a
 * search (a search of kind `ablation` with a fixed list of configurations), so they are stored,
 * resumable and visible the same way.
 */
import type { AblationComponentKind, Direction, TrialParams } from '@floe/schema';
import type { ProjectStore } from '../store';
import type { SearchConfig } from '../search/config';
import { SearchDriver, type DriverOptions, type SearchResult } from '../search/driver';
import type { TrialFunctionRef } from '../search/trial';

export interface AblationStudyConfig {
  name: string;
  metric: string;
  direction: Direction;
  /** Input features to leave out one at a time, e.g. ['HH', 'HV', 'derived', 'angle']. */
  features?: string[];
  /** Layers to leave out one at a time, e.g. ['conv2', 'dense1']. */
  layers?: string[];
  /** Named layer groups removed together, e.g. { dense_head: ['dense1', 'dropout'] }. */
  layerGroups?: Record<string, string[]>;
  /** The trial function; it gets `removedFeatures` and `removedLayers` (comma-separated) in its params. */
  trial: TrialFunctionRef;
  /** Parameters of the base model given to every trial (learning rate, epochs, ...). */
  baseParams?: TrialParams;
  workers?: number;
  seed?: number;
}

export interface AblationComponent {
  component: string;
  kind: AblationComponentKind;
  removed: string[];
}

export class AblationConfigError extends Error {
  override name = 'AblationConfigError';
}

/** The trials of a study, base first, in a fixed order: features, layers, layer groups. */
export function ablationPlan(config: AblationStudyConfig): AblationComponent[] {
  const where = `ablation study '${config.name}'`;
  const plan: AblationComponent[] = [{ component: 'base', kind: 'base', removed: [] }];
  const seen = new Set<string>(['base']);
  const add = (c: AblationComponent): void => {
    if (seen.has(c.component)) throw new AblationConfigError(`${where}: component '${c.component}' is listed twice`);
    seen.add(c.component);
    plan.push(c);
  };
  for (const f of config.features ?? []) add({ component: f, kind: 'feature', removed: [f] });
  for (const l of config.layers ?? []) add({ component: l, kind: 'layer', removed: [l] });
  for (const [name, layers] of Object.entries(config.layerGroups ?? {})) {
    if (!Array.isArray(layers) || layers.length === 0)
      throw new AblationConfigError(`${where}: layer group '${name}' has no layers`);
    add({ component: name, kind: 'layer_group', removed: [...layers] });
  }
  if (plan.length === 1)
    throw new AblationConfigError(`${where}: name at least one feature, layer or layer group to remove`);
  return plan;
}

/** Trial params of a component: the base params plus what to leave out. */
export function componentParams(config: AblationStudyConfig, c: AblationComponent): TrialParams {
  return {
    // One weight initialisation for every trial, so only the removed component differs.
    modelSeed: config.seed ?? 0,
    ...config.baseParams,
    component: c.component,
    kind: c.kind,
    removedFeatures: c.kind === 'feature' ? c.removed.join(',') : '',
    removedLayers: c.kind === 'layer' || c.kind === 'layer_group' ? c.removed.join(',') : '',
  };
}

/** The search config that runs a study. */
export function ablationSearchConfig(config: AblationStudyConfig): SearchConfig {
  const plan = ablationPlan(config);
  return {
    name: config.name,
    kind: 'ablation',
    space: { component: { type: 'categorical', values: plan.map((c) => c.component) } },
    optimizer: { name: 'list', configs: plan.map((c) => componentParams(config, c)) },
    numTrials: plan.length,
    metric: config.metric,
    direction: config.direction,
    earlyStopping: null,
    trial: config.trial,
    ...(config.workers !== undefined ? { workers: config.workers } : {}),
    seed: config.seed ?? 0,
    extra: { plan },
  };
}

/** Runs a study to the end on the given executor. */
export async function runAblation(
  store: ProjectStore,
  config: AblationStudyConfig,
  opts: DriverOptions,
): Promise<SearchResult> {
  return SearchDriver.run(store, ablationSearchConfig(config), opts);
}
