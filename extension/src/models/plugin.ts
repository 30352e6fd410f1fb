import { ILayoutRestorer, type JupyterFrontEnd, type JupyterFrontEndPlugin } from '@jupyterlab/application';
import { ICommandPalette, MainAreaWidget, WidgetTracker } from '@jupyterlab/apputils';
import { ILauncher } from '@jupyterlab/launcher';
import type { ReadonlyPartialJSONObject } from '@lumino/coreutils';
import { floeIcon } from '../icons';
import { IFloeHub } from '../tokens';
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
export const modelsPlugin: JupyterFrontEndPlugin<void> = {
  id: 'floe-jupyterlab:models',
  description: 'The Floe models panel: registered models, versions, lineage and deployments with drift alerts.',
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
    const tracker = new WidgetTracker<MainAreaWidget<ModelsPanel>>({ namespace: 'floe-models' });
    const openRun = (experiment: string, runId: number): void => {
      if (app.commands.hasCommand(OPEN_EXPERIMENTS)) void app.commands.execute(OPEN_EXPERIMENTS, { experiment, runId });
    };
    app.commands.addCommand(ModelsCommandIDs.open, {
      label: (args) => (args.isLauncher ? 'Models' : 'Floe: Open Models'),
      caption: 'Registered models, their lineage, deployments and drift alerts of the Floe project',
      icon: floeIcon,
      execute: (args) => {
        const state = stateFrom(args);
        const open = tracker.currentWidget;
        if (open && !open.isDisposed) {
          if (state.deployment !== undefined) void open.content.openDeployment(state.deployment);
          else if (state.model !== undefined) void open.content.openModel(state.model, state.version);
          app.shell.activateById(open.id);
          return open;
        }
        const content = new ModelsPanel(hub, state, {
          ...(app.commands.hasCommand(OPEN_EXPERIMENTS) ? { openRun } : {}),
        });
        const widget = new MainAreaWidget({ content });
        widget.id = 'floe-models-panel';
        widget.title.label = 'Floe Models';
        widget.title.icon = floeIcon;
        content.stateChanged.connect(() => void tracker.save(widget));
        void tracker.add(widget);
        app.shell.add(widget, 'main');
        app.shell.activateById(widget.id);
        return widget;
      },
    });
    palette?.addItem({ command: ModelsCommandIDs.open, category: 'Floe' });
    launcher?.add({ command: ModelsCommandIDs.open, category: 'Floe', rank: 2, args: { isLauncher: true } });
    if (restorer) {
      void restorer.restore(tracker, {
        command: ModelsCommandIDs.open,
        args: (widget) => ({ ...widget.content.state }) as ReadonlyPartialJSONObject,
        name: () => 'floe-models',
      });
    }
  },
};
