import type { ReadonlyPartialJSONObject } from '@lumino/coreutils';
import { mainAreaPanelPlugin } from '../hub/main-area-panel';
import { ModelsPanel, type ModelsPanelState } from './panel';

// eslint-disable-next-line @typescript-eslint/no-namespace
export namespace ModelsCommandIDs {
  export const open = 'floe:open-models';
}

/** The Experiments panel's command: a run in the lineage graph opens there, on that run. */
const OPEN_EXPERIMENTS = 'floe:open-experiments';

function stateFrom(args: ReadonlyPartialJSONObject): ModelsPanelState {
  const state: ModelsPanelState = {};
  if (typeof args.model === 'string') state.model = args.model;
  if (typeof args.version === 'number') state.version = args.version;
  if (typeof args.deployment === 'string') state.deployment = args.deployment;
  return state;
}

/** The models panel in the main area: palette command, launcher card, restored on reload. */
export const modelsPlugin = mainAreaPanelPlugin<ModelsPanelState, ModelsPanel>(
  'floe-jupyterlab:models',
  'The Floe models panel: registered models, versions, lineage and deployments with drift alerts.',
  (app, hub) => {
    const openRun = (experiment: string, runId: number): void => {
      if (app.commands.hasCommand(OPEN_EXPERIMENTS)) void app.commands.execute(OPEN_EXPERIMENTS, { experiment, runId });
    };
    return {
      command: ModelsCommandIDs.open,
      namespace: 'floe-models',
      widgetId: 'floe-models-panel',
      title: 'Floe Models',
      paletteLabel: 'Floe: Open Models',
      launcherLabel: 'Models',
      caption: 'Registered models, their lineage, deployments and drift alerts of the Floe project',
      launcherRank: 2,
      stateFrom,
      create: (state) =>
        new ModelsPanel(hub, state, { ...(app.commands.hasCommand(OPEN_EXPERIMENTS) ? { openRun } : {}) }),
      show: (panel, state) => {
        if (state.deployment !== undefined) void panel.openDeployment(state.deployment);
        else if (state.model !== undefined) void panel.openModel(state.model, state.version);
      },
    };
  },
);
