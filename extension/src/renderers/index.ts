import type { IRenderMime } from '@jupyterlab/rendermime-interfaces';
import { KINDS } from './decode';
import { sarSceneExtension } from './sar-scene';
import { FloeOutputRenderer } from './widget';

/**
 * The labextension's mime extension (package.json `jupyterlab.mimeExtension`): one renderer factory
 * for every Floe MIME type the kernel displays. JupyterLab registers it in the rendermime registry that
 * notebooks, consoles and output views clone, so it applies to every output area.
 */

export const FLOE_MIME_TYPES: string[] = Object.values(KINDS).map((k) => k.mimeType);

export const rendererFactory: IRenderMime.IRendererFactory = {
  // Safe: nothing from the payload is run or parsed as HTML, so untrusted notebooks get it too.
  safe: true,
  mimeTypes: FLOE_MIME_TYPES,
  createRenderer: (options) => new FloeOutputRenderer(options),
};

const extension: IRenderMime.IExtension = {
  id: 'floe-jupyterlab:renderers',
  description: 'Renders Floe notebook outputs: training progress, searches, validation, explanations, patches, drift.',
  rendererFactory,
  // Ahead of text/html (rank 50) and image/png (90), which the same bundles carry as fallbacks.
  rank: 10,
  dataType: 'json',
};

// The SAR scene (floe.show.sar of a whole raster) is the live SAR Viewer: a renderer of its own.
export default [extension, sarSceneExtension];
