import { ILayoutRestorer, type JupyterFrontEnd, type JupyterFrontEndPlugin } from '@jupyterlab/application';
import { ICommandPalette, MainAreaWidget, WidgetTracker } from '@jupyterlab/apputils';
import { ILauncher } from '@jupyterlab/launcher';
import type { ReadonlyPartialJSONObject } from '@lumino/coreutils';
import { Signal, type ISignal } from '@lumino/signaling';
import { Panel, type Widget } from '@lumino/widgets';
import { floeIcon } from '../icons';
import { IFloeHub } from '../tokens';

/** A Floe panel of the main area whose state (what it shows) the layout restorer saves and reopens. */
export interface RestorablePanel<S> extends Widget {
  readonly state: S;
  readonly stateChanged: ISignal<unknown, S>;
}

/**
 * The base of the Floe main-area panels: what the panel shows (`state`), which the layout restorer
 * saves whenever `stateChanged` emits and gives back to the panel's constructor after a reload.
 */
export abstract class FloeMainAreaPanel<S extends object> extends Panel implements RestorablePanel<S> {
  constructor(state: S) {
    super();
    this._state = { ...state };
  }

  /** Emits whenever what the panel shows changes. */
  get stateChanged(): ISignal<this, S> {
    return this._stateChanged;
  }

  get state(): S {
    return { ...this._state };
  }

  /** Tells the restorer that `_state` changed. */
  protected _emitState(): void {
    this._stateChanged.emit(this.state);
  }

  protected _state: S;
  private _stateChanged = new Signal<this, S>(this);
}

/** What differs between the Floe main-area panels (experiments, models); the rest is `mainAreaPanelPlugin`. */
export interface MainAreaPanelSpec<S, P extends RestorablePanel<S>> {
  command: string;
  /** Tracker namespace and restorer name (the workspace key of the saved state). */
  namespace: string;
  /** DOM id of the panel's MainAreaWidget (one panel at a time). */
  widgetId: string;
  /** Tab title. */
  title: string;
  paletteLabel: string;
  launcherLabel: string;
  caption: string;
  launcherRank: number;
  /** The panel's state from command arguments (restorer, other panels, palette: none). */
  stateFrom(args: ReadonlyPartialJSONObject): S;
  create(state: S): P;
  /** Shows `state` in the panel already open (the command ran again, with arguments). */
  show(panel: P, state: S): void;
}

/**
 * The plugin of a Floe panel in the main area, the JupyterLab way: an open command (which reuses the
 * open panel), a palette item and a launcher card in the Floe category, and a tracker the layout
 * restorer reopens from the panel's saved state. `spec` is called once, in `activate`.
 */
export function mainAreaPanelPlugin<S, P extends RestorablePanel<S>>(
  id: string,
  description: string,
  spec: (app: JupyterFrontEnd, hub: IFloeHub) => MainAreaPanelSpec<S, P>,
): JupyterFrontEndPlugin<void> {
  return {
    id,
    description,
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
      addMainAreaPanel(app, spec(app, hub), palette, launcher, restorer);
    },
  };
}

function addMainAreaPanel<S, P extends RestorablePanel<S>>(
  app: JupyterFrontEnd,
  spec: MainAreaPanelSpec<S, P>,
  palette: ICommandPalette | null,
  launcher: ILauncher | null,
  restorer: ILayoutRestorer | null,
): void {
  const tracker = new WidgetTracker<MainAreaWidget<P>>({ namespace: spec.namespace });
  app.commands.addCommand(spec.command, {
    label: (args) => (args.isLauncher ? spec.launcherLabel : spec.paletteLabel),
    caption: spec.caption,
    icon: floeIcon,
    execute: (args) => {
      const state = spec.stateFrom(args);
      const open = tracker.currentWidget;
      if (open && !open.isDisposed) {
        spec.show(open.content, state);
        app.shell.activateById(open.id);
        return open;
      }
      const content = spec.create(state);
      const widget = new MainAreaWidget({ content });
      widget.id = spec.widgetId;
      widget.title.label = spec.title;
      widget.title.icon = floeIcon;
      content.stateChanged.connect(() => void tracker.save(widget));
      void tracker.add(widget);
      app.shell.add(widget, 'main');
      app.shell.activateById(widget.id);
      return widget;
    },
  });
  palette?.addItem({ command: spec.command, category: 'Floe' });
  launcher?.add({ command: spec.command, category: 'Floe', rank: spec.launcherRank, args: { isLauncher: true } });
  if (restorer) {
    void restorer.restore(tracker, {
      command: spec.command,
      args: (widget) => ({ ...widget.content.state }) as ReadonlyPartialJSONObject,
      name: () => spec.namespace,
    });
  }
}
