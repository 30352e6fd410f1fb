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
  /** Main thread: RGBA → canvas (ImageData + putImageData). */
  drawMs: number;
  level: number;
  /** Painted with the provisional look (before the image statistics arrived). */
  provisional: boolean;
  /** The worker's HTTP reads up to this tile (its first tile only). */
  http: TileResult['http'];
  /** The full-resolution window the tile covers (replayed by `floe bench tiles`). */
  window: PixelWindow;
}

export interface SarTileLayerOptions {
  client: SarWorkerClient;
  width: number;
  height: number;
  spec: () => RenderSpec | null;
  /** True while the image statistics are not in: tiles are painted with the worker's provisional look. */
  provisional: () => boolean;
  onTile: (timing: TileTiming) => void;
  onError: (message: string) => void;
}

/** The tile layer, plus re-colouring of the tiles on screen in place (no blank tiles, no re-read). */
export interface SarTileLayer extends Leaflet.GridLayer {
  recolour(): void;
}

interface LiveTile {
  canvas: HTMLCanvasElement;
  window: PixelWindow;
  /** The newest request painting this canvas; older answers are dropped. */
  request: number;
}

/** Puts a worker-painted RGBA tile on its canvas; returns the milliseconds it took. */
export function drawTile(canvas: HTMLCanvasElement, result: TileResult): number {
  const t0 = performance.now();
  const image = new ImageData(new Uint8ClampedArray(result.rgba), result.size, result.size);
  canvas.getContext('2d')!.putImageData(image, 0, 0);
  return performance.now() - t0;
}

/**
 * Builds the `SarTileLayer` class once Leaflet is loaded: a `GridLayer` whose tiles are canvases
 * painted by the worker. Map units are image pixels (`CRS.Simple`, lng = column, lat = −row), so at
 * zoom z a 256 px tile covers 256 / 2^z image pixels.
 */
export function sarTileLayer(L: typeof Leaflet, options: SarTileLayerOptions): SarTileLayer {
  const live = new Map<HTMLCanvasElement, LiveTile>();
  class Layer extends L.GridLayer {
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
      const provisional = options.provisional();
      const call = options.client.call<TileResult>({ type: 'tile', window, size: TILE_SIZE, spec, provisional });
      canvas.dataset.request = String(call.id);
      const tile: LiveTile = { canvas, window, request: call.id };
      live.set(canvas, tile);
      call.promise.then(
        (result) => {
          // A re-colour asked for after this request already painted the canvas.
          if (tile.request === call.id) {
            const drawMs = drawTile(canvas, result);
            canvas.dataset.painted = 'true';
            options.onTile({
              zoom: coords.z,
              totalMs: performance.now() - started,
              decodeMs: result.decodeMs,
              renderMs: result.renderMs,
              drawMs,
              level: result.level,
              provisional: result.provisional !== null,
              http: result.http,
              window,
            });
          }
          done(undefined, canvas);
        },
        (err: Error) => {
          if (!(err instanceof CancelledError)) options.onError(err.message);
          done(err, canvas);
        },
      );
      return canvas;
    }

    /**
     * Re-paints the tiles on screen with the current spec: the worker keeps their decoded samples, so
     * this is a re-colour, and each canvas keeps its old colours until the new ones arrive.
     */
    recolour(): void {
      const spec = options.spec();
      if (!spec) {
        this.redraw();
        return;
      }
      for (const tile of live.values()) {
        const call = options.client.call<TileResult>({
          type: 'tile',
          window: tile.window,
          size: TILE_SIZE,
          spec,
          provisional: options.provisional(),
        });
        tile.request = call.id;
        tile.canvas.dataset.request = String(call.id);
        call.promise.then(
          (result) => {
            if (tile.request !== call.id) return;
            drawTile(tile.canvas, result);
            tile.canvas.dataset.painted = 'true';
          },
          (err: Error) => {
            if (!(err instanceof CancelledError)) options.onError(err.message);
          },
        );
      }
    }
  }
  const layer = new Layer({
    tileSize: TILE_SIZE,
    // GridLayer draws nothing below its minZoom (0 by default); large images open at negative zooms.
    minZoom: -30,
    bounds: L.latLngBounds([-options.height, 0], [0, options.width]),
    noWrap: true,
    updateWhenZooming: false,
    keepBuffer: 2,
  });
  layer.on('tileunload', (event: Leaflet.TileEvent) => {
    const canvas = event.tile as unknown as HTMLCanvasElement;
    const tile = live.get(canvas);
    live.delete(canvas);
    if (tile && canvas.dataset.painted !== 'true') options.client.cancel(tile.request);
  });
  return layer;
}
