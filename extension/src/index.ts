import type { JupyterFrontEndPlugin } from '@jupyterlab/application';
import { hubPlugin, sidebarPlugin } from './hub/plugin';
import { sarViewerPlugin } from './sar-viewer/plugin';
import { experimentsPlugin } from './experiments/plugin';
import { modelsPlugin } from './models/plugin';
import { featureStorePlugin } from './feature-store/plugin';

export { IFloeHub } from './tokens';
export type { HubStatus } from './tokens';
export { CommandIDs } from './hub/plugin';

const plugins: JupyterFrontEndPlugin<unknown>[] = [hubPlugin, sidebarPlugin, sarViewerPlugin];
plugins.push(experimentsPlugin);
plugins.push(featureStorePlugin);
plugins.push(modelsPlugin);
export default plugins;
