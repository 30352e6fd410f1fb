import type { ReadonlyPartialJSONObject } from '@lumino/coreutils';
import { mainAreaPanelPlugin } from '../hub/main-area-panel';
import { ExperimentsPanel, type ExperimentsPanelState } from './panel';

// eslint-disable-next-line @typescript-eslint/no-namespace
export namespace ExperimentsCommandIDs {
  export const open = 'floe:open-experiments';
}

function stateFrom(args: ReadonlyPartialJSONObject): ExperimentsPanelState {
  const state: ExperimentsPanelState = {};
  if (typeof args.experiment === 'string') state.experiment = args.experiment;
  if (typeof args.runId === 'number') state.runId = args.runId;
  if (typeof args.searchId === 'number') state.searchId = args.searchId;
  return state;
}

/**
 * Shows what the command was asked for in the panel already open: a search, or an experiment and then
 * the run in it (the Models panel opens a model's run this way).
 */
async function show(panel: ExperimentsPanel, state: ExperimentsPanelState): Promise<void> {
  if (state.searchId !== undefined) return panel.openSearch(state.searchId);
  if (state.experiment !== undefined) await panel.openExperiment(state.experiment);
  if (state.runId !== undefined) await panel.openRun(state.runId);
}

/** The experiments panel in the main area: palette command, launcher card, restored on reload. */
export const experimentsPlugin = mainAreaPanelPlugin<ExperimentsPanelState, ExperimentsPanel>(
  'floe-jupyterlab:experiments',
  'The Floe experiments panel: runs table, run details, comparison and searches.',
  (_app, hub) => ({
    command: ExperimentsCommandIDs.open,
    namespace: 'floe-experiments',
    widgetId: 'floe-experiments-panel',
    title: 'Floe Experiments',
    paletteLabel: 'Open Floe Experiments',
    launcherLabel: 'Experiments',
    caption: 'Experiments, runs, comparisons and searches of the Floe project',
    launcherRank: 1,
    stateFrom,
    create: (state) => new ExperimentsPanel(hub, state),
    show: (panel, state) => void show(panel, state),
  }),
);
