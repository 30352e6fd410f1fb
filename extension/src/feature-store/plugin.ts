import { ILayoutRestorer, type JupyterFrontEnd, type JupyterFrontEndPlugin } from '@jupyterlab/application';
import { ICommandPalette, IThemeManager } from '@jupyterlab/apputils';
import { IStateDB } from '@jupyterlab/statedb';
import { LabIcon } from '@jupyterlab/ui-components';
import type { ReadonlyPartialJSONObject, ReadonlyPartialJSONValue } from '@lumino/coreutils';
import { IFloeHub } from '../tokens';
import { drawHistograms } from './histogram';
import { FeatureStorePanel, type FeatureStoreState } from './panel';

// eslint-disable-next-line @typescript-eslint/no-namespace
export namespace FeatureStoreCommandIDs {
  export const open = 'floe:open-feature-store';
}

/** Stacked layers: a feature group's commits. Drawn in the theme's icon colour (jp-icon3). */
const featureStoreIcon = new LabIcon({
  name: 'floe-jupyterlab:feature-store',
  svgstr:
    '<svg xmlns="http://www.w3.org/2000/svg" width="16" height="16" viewBox="0 0 24 24"><g class="jp-icon3" fill="#616161">' +
    '<path d="M12 2 2 7l10 5 10-5-10-5zm0 12.2L4.2 10.3 2 11.4l10 5 10-5-2.2-1.1L12 14.2zm0 4.6-7.8-3.9L2 16l10 5 10-5-2.2-1.1L12 18.8z"/></g></svg>',
});

const STATE_KEY = 'floe-jupyterlab:feature-store';

function stateFromArgs(args: ReadonlyPartialJSONObject): FeatureStoreState | null {
  if (typeof args.featureGroup === 'string') {
    const state: FeatureStoreState = { view: 'group', group: args.featureGroup };
    if (typeof args.version === 'number') state.version = args.version;
    if (typeof args.commit === 'number') state.commit = args.commit;
    return state;
  }
  if (typeof args.trainingDataset === 'string') {
    const state: FeatureStoreState = { view: 'dataset', dataset: args.trainingDataset };
    if (typeof args.version === 'number') state.datasetVersion = args.version;
    return state;
  }
  return null;
}

/** A saved state, checked field by field (it may come from an older version of the panel). */
function restoredState(value: ReadonlyPartialJSONValue | undefined): FeatureStoreState {
  const v = (value && typeof value === 'object' && !Array.isArray(value) ? value : {}) as Record<string, unknown>;
  const state: FeatureStoreState = { view: v.view === 'group' || v.view === 'dataset' ? v.view : 'home' };
  if (typeof v.group === 'string') state.group = v.group;
  if (typeof v.version === 'number') state.version = v.version;
  if (typeof v.commit === 'number') state.commit = v.commit;
  if (v.tab === 'statistics' || v.tab === 'schema' || v.tab === 'validation' || v.tab === 'patches') state.tab = v.tab;
  if (v.statsScope === 'group' || v.statsScope === 'commit') state.statsScope = v.statsScope;
  const g = v.gallery as Record<string, unknown> | undefined;
  if (g && (g.mode === 'hh' || g.mode === 'hv' || g.mode === 'composite') && typeof g.offset === 'number')
    state.gallery = { mode: g.mode, offset: g.offset };
  if (typeof v.dataset === 'string') state.dataset = v.dataset;
  if (typeof v.datasetVersion === 'number') state.datasetVersion = v.datasetVersion;
  if (typeof v.filter === 'string') state.filter = v.filter;
  return state;
}

/** The feature store browser in the left sidebar: palette command, state kept across reloads. */
export const featureStorePlugin: JupyterFrontEndPlugin<void> = {
  id: 'floe-jupyterlab:feature-store',
  description: 'The Floe feature store browser: feature groups, commits, statistics, validation, patches, datasets.',
  autoStart: true,
  requires: [IFloeHub],
  optional: [ICommandPalette, ILayoutRestorer, IStateDB, IThemeManager],
  activate: (
    app: JupyterFrontEnd,
    hub: IFloeHub,
    palette: ICommandPalette | null,
    restorer: ILayoutRestorer | null,
    stateDB: IStateDB | null,
    themes: IThemeManager | null,
  ): void => {
    const panel = new FeatureStorePanel(hub);
    panel.title.icon = featureStoreIcon;
    app.shell.add(panel, 'left', { rank: 860, type: 'Floe Feature Store' });
    restorer?.add(panel, panel.id);
    // Plotly draws with literal colours: redraw the histograms in the new theme's.
    themes?.themeChanged.connect(() => void drawHistograms(panel.node).catch(() => undefined));

    let restored = false;
    panel.stateChanged.connect((_, state) => {
      if (restored) void stateDB?.save(STATE_KEY, state as unknown as ReadonlyPartialJSONValue);
    });
    // Never awaited in activate (STYLE.md): the panel fills in once the saved state is read.
    void Promise.all([app.restored, stateDB?.fetch(STATE_KEY).catch(() => undefined)]).then(([, saved]) => {
      restored = true;
      void panel.restore(restoredState(saved));
    });

    app.commands.addCommand(FeatureStoreCommandIDs.open, {
      label: 'Open Feature Store',
      caption: 'Feature groups, commits, statistics, validation reports, patches and training datasets',
      icon: featureStoreIcon,
      execute: (args) => {
        app.shell.activateById(panel.id);
        const state = stateFromArgs(args);
        if (state) {
          restored = true;
          void panel.restore(state);
        }
      },
    });
    palette?.addItem({ command: FeatureStoreCommandIDs.open, category: 'Floe' });
  },
};
