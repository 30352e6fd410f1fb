import type * as Leaflet from 'leaflet';
import { CancelledError, type SarWorkerClient } from './client';
import type { PixelWindow, TileResult } from './protocol';
import type { RenderSpec } from './render';

export const TILE_SIZE = 256;

export interface TileTiming {
  zoom: number;
  /** From createTile to the tile painted on its canvas. */
  totalMs: number;
  decodeMs: number;
  renderMs: number;
  level: number;
  /** The full-resolution window the tile covers (replayed by `floe bench tiles`). */
  window: PixelWindow;
}

export interface SarTileLayerOptions {
  client: SarWorkerClient;
  width: number;
  height: number;
  spec: () => RenderSpec | null;
  onTile: (timing: TileTiming) => void;
  onError: (message: string) => void;
}

/**
 * Builds the `SarTileLayer` class once Leaflet is loaded: a `GridLayer` whose tiles are canvases
 * painted by the worker. Map units are image pixels (`CRS.Simple`, lng = column, lat = −row), so at
 * zoom z a 256 px tile covers 256 / 2^z image pixels.
 */
export function sarTileLayer(L: typeof Leaflet, options: SarTileLayerOptions): Leaflet.GridLayer {
  class SarTileLayer extends L.GridLayer {
    override createTile(coords: Leaflet.Coords, done: Leaflet.DoneCallback): HTMLElement {
      const canvas = document.createElement('canvas');
      canvas.width = TILE_SIZE;
      canvas.height = TILE_SIZE;
      const spec = options.spec();
      if (!spec) {
        queueMicrotask(() => done(undefined, canvas));
        return canvas;
      }
      const span = TILE_SIZE / 2 ** coords.z;
      const started = performance.now();
      const window = {
        col0: coords.x * span,
        row0: coords.y * span,
        col1: (coords.x + 1) * span,
        row1: (coords.y + 1) * span,
      };
      const call = options.client.call<TileResult>({
        type: 'tile',
        window,
        size: TILE_SIZE,
        spec,
      });
      canvas.dataset.request = String(call.id);
      call.promise.then(
        (result) => {
          const image = new ImageData(new Uint8ClampedArray(result.rgba), result.size, result.size);
          canvas.getContext('2d')!.putImageData(image, 0, 0);
          canvas.dataset.painted = 'true';
          options.onTile({
            zoom: coords.z,
            totalMs: performance.now() - started,
            decodeMs: result.decodeMs,
            renderMs: result.renderMs,
            level: result.level,
            window,
          });
          done(undefined, canvas);
        },
        (err: Error) => {
          if (!(err instanceof CancelledError)) options.onError(err.message);
          done(err, canvas);
        },
      );
      return canvas;
    }
  }
  const layer = new SarTileLayer({
    tileSize: TILE_SIZE,
    // GridLayer draws nothing below its minZoom (0 by default); large images open at negative zooms.
    minZoom: -30,
    bounds: L.latLngBounds([-options.height, 0], [0, options.width]),
    noWrap: true,
    updateWhenZooming: false,
    keepBuffer: 2,
  });
  layer.on('tileunload', (event: Leaflet.TileEvent) => {
    const id = Number((event.tile as HTMLElement).dataset.request);
    if (id && (event.tile as HTMLElement).dataset.painted !== 'true') options.client.cancel(id);
  });
  return layer;
}
