import { ILayoutRestorer, type JupyterFrontEnd, type JupyterFrontEndPlugin } from '@jupyterlab/application';
import { ICommandPalette } from '@jupyterlab/apputils';
import { ISettingRegistry } from '@jupyterlab/settingregistry';
import { refreshIcon } from '@jupyterlab/ui-components';
import { floeIcon } from '../icons';
import { IFloeHub } from '../tokens';
import { DEFAULT_REFRESH_SECONDS, HubConnection } from './model';
import { FloeSidebar } from './sidebar';

// A namespace of command ids, as in JupyterLab core (STYLE.md): `floe:<verb-noun>`.
// eslint-disable-next-line @typescript-eslint/no-namespace
export namespace CommandIDs {
  export const openSidebar = 'floe:open-sidebar';
  export const refreshHub = 'floe:refresh-hub-info';
}

const PALETTE_CATEGORY = 'Floe';

/** Provides the hub connection (IFloeHub) that every Floe panel reads from. */
export const hubPlugin: JupyterFrontEndPlugin<IFloeHub> = {
  id: 'floe-jupyterlab:hub',
  description:
    'The connection to the Floe hub: its info (versions, TensorFlow backend, store) or why it is unreachable.',
  autoStart: true,
  provides: IFloeHub,
  optional: [ISettingRegistry],
  activate: (app: JupyterFrontEnd, settingRegistry: ISettingRegistry | null): IFloeHub => {
    const hub = new HubConnection({ refreshSeconds: DEFAULT_REFRESH_SECONDS });
    if (settingRegistry) {
      settingRegistry
        .load(hubPlugin.id)
        .then((settings) => {
          const apply = (): void => {
            hub.refreshSeconds = settings.get('refreshInterval').composite as number;
          };
          apply();
          settings.changed.connect(apply);
        })
        .catch((reason: unknown) => {
          console.warn(
            `${hubPlugin.id}: settings not loaded, checking the hub every ${DEFAULT_REFRESH_SECONDS} s`,
            reason,
          );
        });
    }
    app.commands.addCommand(CommandIDs.refreshHub, {
      label: 'Check the Floe Hub Now',
      caption: 'Ask the Floe hub for its info again',
      icon: refreshIcon,
      execute: () => hub.refresh(),
    });
    return hub;
  },
};

/** The left-sidebar "Floe" panel showing what the hub reports (or why it cannot be reached). */
export const sidebarPlugin: JupyterFrontEndPlugin<void> = {
  id: 'floe-jupyterlab:sidebar',
  description: 'The Floe sidebar: versions, TensorFlow backend and device, and the project store, from the hub.',
  autoStart: true,
  requires: [IFloeHub],
  optional: [ILayoutRestorer, ICommandPalette],
  activate: (
    app: JupyterFrontEnd,
    hub: IFloeHub,
    restorer: ILayoutRestorer | null,
    palette: ICommandPalette | null,
  ): void => {
    const sidebar = new FloeSidebar(hub);
    app.shell.add(sidebar, 'left', { rank: 850, type: 'Floe' });
    restorer?.add(sidebar, sidebar.id);

    app.commands.addCommand(CommandIDs.openSidebar, {
      label: 'Show the Floe Sidebar',
      caption: 'Floe versions, TensorFlow backend and project store',
      icon: floeIcon,
      execute: () => app.shell.activateById(sidebar.id),
    });
    palette?.addItem({ command: CommandIDs.openSidebar, category: PALETTE_CATEGORY });
    palette?.addItem({ command: CommandIDs.refreshHub, category: PALETTE_CATEGORY });
  },
};
