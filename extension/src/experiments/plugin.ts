import { ILayoutRestorer, type JupyterFrontEnd, type JupyterFrontEndPlugin } from '@jupyterlab/application';
import { ICommandPalette, MainAreaWidget, WidgetTracker } from '@jupyterlab/apputils';
import { ILauncher } from '@jupyterlab/launcher';
import type { ReadonlyPartialJSONObject } from '@lumino/coreutils';
import { floeIcon } from '../icons';
import { IFloeHub } from '../tokens';
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

/** The experiments panel in the main area: palette command, launcher card, restored on reload. */
export const experimentsPlugin: JupyterFrontEndPlugin<void> = {
  id: 'floe-jupyterlab:experiments',
  description: 'The Floe experiments panel: runs table, run details, comparison and searches.',
  autoStart: true,
  requires: [IFloeHub],
  optional: [ICommandPalette, ILauncher, ILayoutRestorer],
  activate: (
    app: JupyterFrontEnd,
    hub: IFloeHub,
    palette: ICommandPalette | null,
    launcher: ILauncher | null,
    restorer: ILayoutRestorer | null,
  ): void => {
    const tracker = new WidgetTracker<MainAreaWidget<ExperimentsPanel>>({ namespace: 'floe-experiments' });
    app.commands.addCommand(ExperimentsCommandIDs.open, {
      label: (args) => (args.isLauncher ? 'Experiments' : 'Open Floe Experiments'),
      caption: 'Experiments, runs, comparisons and searches of the Floe project',
      icon: floeIcon,
      execute: (args) => {
        const state = stateFrom(args);
        const open = tracker.currentWidget;
        if (open && !open.isDisposed) {
          if (state.experiment !== undefined) void open.content.openExperiment(state.experiment);
          app.shell.activateById(open.id);
          return open;
        }
        const content = new ExperimentsPanel(hub, state);
        const widget = new MainAreaWidget({ content });
        widget.id = 'floe-experiments-panel';
        widget.title.label = 'Floe Experiments';
        widget.title.icon = floeIcon;
        content.stateChanged.connect(() => void tracker.save(widget));
        void tracker.add(widget);
        app.shell.add(widget, 'main');
        app.shell.activateById(widget.id);
        return widget;
      },
    });
    palette?.addItem({ command: ExperimentsCommandIDs.open, category: 'Floe' });
    launcher?.add({ command: ExperimentsCommandIDs.open, category: 'Floe', rank: 1, args: { isLauncher: true } });
    if (restorer) {
      void restorer.restore(tracker, {
        command: ExperimentsCommandIDs.open,
        args: (widget) => ({ ...widget.content.state }) as ReadonlyPartialJSONObject,
        name: () => 'floe-experiments',
      });
    }
  },
};
