import type { JupyterFrontEnd, JupyterFrontEndPlugin } from '@jupyterlab/application';
import { ILayoutRestorer } from '@jupyterlab/application';
import { WidgetTracker } from '@jupyterlab/apputils';
import type { DocumentRegistry } from '@jupyterlab/docregistry';
import { ABCWidgetFactory, Base64ModelFactory, DocumentWidget } from '@jupyterlab/docregistry';
import { ISettingRegistry } from '@jupyterlab/settingregistry';
import { COLORMAPS, type ColormapName } from './render';
import { SarViewer } from './widget';

export const FACTORY = 'SAR Viewer';
const MODEL = 'floe-sar-no-content';
const FILE_TYPE = 'floe-geotiff';
const CORE_TIFF = 'tiff';

/**
 * A model factory that never loads the file: the viewer reads it itself with range requests, so a
 * 200 MB GeoTIFF is not downloaded (and base64-encoded) whole when it opens.
 */
class NoContentModelFactory extends Base64ModelFactory {
  override get name(): string {
    return MODEL;
  }
  override get fileFormat(): null {
    return null;
  }
}

interface ViewerSettings {
  colormap: ColormapName;
  percentiles: [number, number];
  pairPolarisations: boolean;
}

const DEFAULTS: ViewerSettings = { colormap: 'gray', percentiles: [2, 98], pairPolarisations: true };

class SarViewerFactory extends ABCWidgetFactory<DocumentWidget<SarViewer>> {
  constructor(
    options: DocumentRegistry.IWidgetFactoryOptions<DocumentWidget<SarViewer>>,
    private readonly app: JupyterFrontEnd,
    private readonly settings: () => ViewerSettings,
  ) {
    super(options);
  }

  protected createNewWidget(context: DocumentRegistry.Context): DocumentWidget<SarViewer> {
    const s = this.settings();
    const content = new SarViewer({
      path: context.path,
      localPath: context.localPath,
      contents: this.app.serviceManager.contents,
      colormap: s.colormap,
      percentiles: s.percentiles,
      pairPolarisations: s.pairPolarisations,
      serverSettings: this.app.serviceManager.serverSettings,
    });
    const widget = new DocumentWidget({ content, context });
    widget.title.caption = `${context.localPath} (SAR Viewer)`;
    return widget;
  }
}

/** "Open With → SAR Viewer" for .tif/.tiff, the default for those files. */
export const sarViewerPlugin: JupyterFrontEndPlugin<void> = {
  id: 'floe-jupyterlab:sar-viewer',
  description: 'SAR Viewer: Sentinel-1 GeoTIFF/COG in dB, tiled in Leaflet, decoded in a worker over range requests.',
  autoStart: true,
  optional: [ISettingRegistry, ILayoutRestorer],
  activate: (
    app: JupyterFrontEnd,
    settingRegistry: ISettingRegistry | null,
    restorer: ILayoutRestorer | null,
  ): void => {
    let current: ViewerSettings = { ...DEFAULTS };
    if (settingRegistry) {
      settingRegistry
        .load(sarViewerPlugin.id)
        .then((settings) => {
          const apply = (): void => {
            const colormap = settings.get('colormap').composite as string;
            const low = settings.get('percentileLow').composite as number;
            const high = settings.get('percentileHigh').composite as number;
            current = {
              colormap: (COLORMAPS as readonly string[]).includes(colormap)
                ? (colormap as ColormapName)
                : DEFAULTS.colormap,
              percentiles: low < high ? [low, high] : DEFAULTS.percentiles,
              pairPolarisations: settings.get('pairPolarisations').composite as boolean,
            };
          };
          apply();
          settings.changed.connect(apply);
        })
        .catch((reason: unknown) => console.warn(`${sarViewerPlugin.id}: settings not loaded, using defaults`, reason));
    }
    const registry = app.docRegistry;
    // JupyterLab core knows .tif/.tiff as the 'tiff' image type (its image viewer cannot draw GeoTIFFs in
    // Chromium); register ours only where it does not.
    const fileType = registry.getFileType(CORE_TIFF) ? CORE_TIFF : FILE_TYPE;
    if (fileType === FILE_TYPE) {
      registry.addFileType({
        name: FILE_TYPE,
        displayName: 'GeoTIFF',
        extensions: ['.tif', '.tiff'],
        mimeTypes: ['image/tiff'],
        fileFormat: null,
        contentType: 'file',
      });
    }
    registry.addModelFactory(new NoContentModelFactory());
    const factory = new SarViewerFactory(
      {
        name: FACTORY,
        label: 'SAR Viewer',
        modelName: MODEL,
        fileTypes: [fileType],
        defaultFor: [fileType],
        readOnly: true,
      },
      app,
      () => current,
    );
    registry.addWidgetFactory(factory);
    // The image viewer may register after us and claim the default back; settle it once all plugins ran
    // (a user's docmanager "defaultViewers" setting still wins when it names another viewer).
    void app.restored.then(() => {
      if (registry.defaultWidgetFactory('x.tif').name === 'Image') registry.setDefaultWidgetFactory(fileType, FACTORY);
    });
    const tracker = new WidgetTracker<DocumentWidget<SarViewer>>({ namespace: 'floe-sar-viewer' });
    factory.widgetCreated.connect((_, widget) => {
      widget.context.pathChanged.connect(() => void tracker.save(widget));
      void tracker.add(widget);
    });
    if (restorer) {
      void restorer.restore(tracker, {
        command: 'docmanager:open',
        args: (widget) => ({ path: widget.context.path, factory: FACTORY }),
        name: (widget) => widget.context.path,
      });
    }
  },
};
