import { URLExt } from '@jupyterlab/coreutils';
import type { Contents } from '@jupyterlab/services';
import { ServerConnection } from '@jupyterlab/services';
import { Widget } from '@lumino/widgets';
import type * as Leaflet from 'leaflet';
import type { SarOverlay } from '@floe/schema';
import { SarAnnotations } from './annotations';
import { CancelledError, SarWorkerClient } from './client';
import { lonLatSupported, pixelSizeMetres, pixelToMap, toLonLat, type Georeferencing } from './georef';
import { drawTile, sarTileLayer, TILE_SIZE, type SarTileLayer, type TileTiming } from './layer';
import type {
  PixelResult,
  PixelWindow,
  PlainReadResult,
  RasterSource,
  RasterSummary,
  StatsResult,
  TileResult,
} from './protocol';
import {
  COLORMAPS,
  toDb,
  VALUE_SCALES,
  type ColormapName,
  type RenderSpec,
  type Stretch,
  type ValueScale,
} from './render';

export interface SarViewerOptions {
  /** The file's path as the contents manager knows it (may carry a drive prefix). */
  path: string;
  /** Its path on the server (no drive prefix), for `/files/`. */
  localPath: string;
  contents: Contents.IManager;
  colormap: ColormapName;
  percentiles: [number, number];
  /** Look for the other polarisation's file beside this one (iw-vv.tiff ↔ iw-vh.tiff) for a composite. */
  pairPolarisations: boolean;
  serverSettings?: ServerConnection.ISettings;
  /** Overlays to draw from the start (a notebook's `floe.show.sar(..., { overlays })`). */
  overlays?: SarOverlay[];
  /** Draw committed labels (hub) and `.geojson` files beside the raster, and allow labeling (default true). */
  annotations?: boolean;
  /** Look for committed labels and `.geojson` files beside the raster (default true; needs `annotations`). */
  discoverOverlays?: boolean;
}

type ScaleChoice = ValueScale | 'auto';

const SCALE_LABELS: Record<ValueScale, string> = {
  amplitude: 'amplitude DN → dB (20·log10)',
  intensity: 'intensity → dB (10·log10)',
  db: 'already dB',
  linear: 'linear (no dB)',
};

const COMPOSITE = 'composite';

/** What the view shows of the viewer's progress (for people and for tests: `data-state`). */
type ViewState = 'loading' | 'ready' | 'error';

/** Swaps the polarisation in a file name: iw-vv.tiff → iw-vh.tiff (null when none is named). */
export function partnerPath(path: string): string | null {
  const slash = path.lastIndexOf('/');
  const name = path.slice(slash + 1);
  const swap: Record<string, string> = { vv: 'vh', vh: 'vv', hh: 'hv', hv: 'hh' };
  const m = /(^|[^a-z])(vv|vh|hh|hv)(?=[^a-z]|$)/i.exec(name);
  if (!m) return null;
  const pol = m[2]!;
  let other = swap[pol.toLowerCase()]!;
  if (pol === pol.toUpperCase()) other = other.toUpperCase();
  const at = m.index + m[1]!.length;
  return path.slice(0, slash + 1) + name.slice(0, at) + other + name.slice(at + pol.length);
}

/**
 * The SAR viewer: a Leaflet map of worker-painted tiles with band / scale / colormap / stretch
 * controls, a pixel readout and a scale bar. Leaflet and geotiff.js load on first use.
 */
export class SarViewer extends Widget {
  private readonly options: SarViewerOptions;
  private readonly client = new SarWorkerClient();
  private readonly toolbar = document.createElement('div');
  private readonly notes = document.createElement('div');
  private readonly errorBox = document.createElement('div');
  private readonly mapNode = document.createElement('div');
  private readonly body = document.createElement('div');
  private annotations: SarAnnotations | null = null;
  private readonly readout = document.createElement('div');
  private summary: RasterSummary | null = null;
  private stats: StatsResult | null = null;
  private map: Leaflet.Map | null = null;
  private layer: SarTileLayer | null = null;
  /** Until the image statistics are in, tiles are painted with the worker's provisional look. */
  private provisional = true;
  private scaleChoice: ScaleChoice = 'auto';
  private view: string = '0';
  private colormap: ColormapName;
  private stretches: Stretch[] = [];
  private pair: { co: number; cross: number } | null = null;
  private readonly tileErrors = new Set<string>();
  private readonly timings: TileTiming[] = [];
  private readonly openedAt = performance.now();
  private pixelCall = 0;
  private sourceList: RasterSource[] = [];

  constructor(options: SarViewerOptions) {
    super();
    this.options = options;
    this.colormap = options.colormap;
    this.addClass('floe-SarViewer');
    this.toolbar.className = 'floe-SarViewer-toolbar';
    this.notes.className = 'floe-SarViewer-notes';
    this.errorBox.className = 'floe-SarViewer-error';
    this.errorBox.setAttribute('role', 'alert');
    this.errorBox.hidden = true;
    this.mapNode.className = 'floe-SarViewer-map';
    this.readout.className = 'floe-SarViewer-readout';
    this.readout.textContent = 'Move the pointer over the image to read pixel values.';
    this.body.className = 'floe-SarViewer-body';
    this.body.append(this.mapNode);
    this.node.append(this.toolbar, this.notes, this.errorBox, this.body, this.readout);
    this.setState('loading');
    void this.start();
  }

  /** Tile timings so far (for `floe bench tiles` and the tests). */
  get tileTimings(): readonly TileTiming[] {
    return this.timings;
  }

  override dispose(): void {
    if (this.isDisposed) return;
    this.map?.remove();
    this.map = null;
    this.client.dispose();
    super.dispose();
  }

  protected override onResize(): void {
    this.map?.invalidateSize();
  }

  protected override onAfterShow(): void {
    this.map?.invalidateSize();
  }

  private setState(state: ViewState): void {
    this.node.dataset.state = state;
  }

  private fail(message: string): void {
    this.errorBox.hidden = false;
    this.errorBox.textContent = message;
    this.setState('error');
  }

  private fileUrl(localPath: string): string {
    const settings = this.options.serverSettings ?? ServerConnection.makeSettings();
    return URLExt.join(settings.baseUrl, 'files', URLExt.encodeParts(localPath));
  }

  private authHeaders(): Record<string, string> {
    const settings = this.options.serverSettings ?? ServerConnection.makeSettings();
    const headers: Record<string, string> = {};
    // The worker's fetches carry the page's cookies (same origin); the token covers token-only set-ups.
    if (settings.token) headers.Authorization = `token ${settings.token}`;
    return headers;
  }

  private async sources(): Promise<RasterSource[]> {
    const { localPath, path } = this.options;
    const own: RasterSource = { url: this.fileUrl(localPath), label: localPath };
    if (!this.options.pairPolarisations) return [own];
    const other = partnerPath(path);
    const otherLocal = partnerPath(localPath);
    if (!other || !otherLocal) return [own];
    try {
      const model = await this.options.contents.get(other, { content: false });
      if (model.type !== 'file') return [own];
    } catch {
      return [own]; // no partner file: a single-polarisation view
    }
    const partner: RasterSource = { url: this.fileUrl(otherLocal), label: otherLocal };
    // Co-polarised first, so band 1 is VV/HH.
    return /(^|[^a-z])(vv|hh)(?=[^a-z]|$)/i.test(localPath.split('/').pop()!) ? [own, partner] : [partner, own];
  }

  private async start(): Promise<void> {
    try {
      const phases: Record<string, number> = {};
      let mark = performance.now();
      const lap = (name: string): void => {
        const now = performance.now();
        phases[name] = Math.round(now - mark);
        mark = now;
      };
      // Leaflet loads while the worker opens the file: the open goes out as soon as the partner file is known.
      const leaflet = import('leaflet');
      const sources = await this.sources();
      lap('partner file');
      const open = this.client.call<RasterSummary>({ type: 'open', sources, headers: this.authHeaders() });
      const [L, summary] = await Promise.all([leaflet, open.promise]);
      lap('open in worker (Leaflet loading meanwhile)');
      for (const [k, v] of Object.entries(summary.phases)) phases[`  worker: ${k}`] = Math.round(v);
      this.sourceList = sources;
      if (this.isDisposed) return;
      this.summary = summary;
      this.pair = findPair(summary);
      if (this.pair) this.view = COMPOSITE;
      // The first tiles go out now, painted with a provisional look from the first decoded tile; the
      // percentile statistics of the whole image follow and re-colour them in place.
      this.buildMap(L, summary);
      this.describe();
      lap('map');
      this.exposeBenchHook();
      const first = await this.firstScreen();
      if (first) {
        phases['first tile: worker read + decode'] = Math.round(first.decodeMs);
        phases['first tile: dB + stretch + colour'] = Math.round(first.renderMs);
        phases['first tile: canvas putImageData'] = Math.round(first.drawMs);
        phases['first tile: messages and queueing'] = Math.round(
          first.totalMs - first.decodeMs - first.renderMs - first.drawMs,
        );
        if (first.http) {
          // Since the worker started: header, image directories and the overview bytes the tile needed.
          phases['  worker HTTP until the first tile: requests'] = first.http.requests;
          phases['  worker HTTP until the first tile: KiB'] = first.http.kib;
          phases['  worker HTTP until the first tile: ms in flight'] = first.http.busyMs;
        }
      }
      lap('first screen of tiles');
      if (this.isDisposed) return;
      await this.loadStats();
      lap('statistics');
      if (this.isDisposed) return;
      this.provisional = false;
      this.buildToolbar();
      this.describe();
      this.layer?.recolour();
      this.node.dataset.openPhases = JSON.stringify(phases);
      if (this.node.dataset.state !== 'error') this.setState('ready');
    } catch (err) {
      if (err instanceof CancelledError || this.isDisposed) return;
      // A tile's own error (damaged data, file gone) came first and says more.
      if (this.node.dataset.state !== 'error') this.fail((err as Error).message);
    }
  }

  /**
   * Resolves when the tiles of the opening view are painted (the layer's `load`), so the statistics
   * read does not compete with them for the worker; at most a few seconds. Gives the first tile's timing.
   */
  private firstScreen(): Promise<TileTiming | undefined> {
    return new Promise((resolve) => {
      const finish = (): void => {
        clearTimeout(timer);
        this.layer?.off('load', finish);
        resolve(this.timings[0]);
      };
      const timer = setTimeout(finish, 3000);
      this.layer?.on('load', finish);
    });
  }

  /**
   * What `floe bench tiles` drives from the page: the tile timings so far, panning, and the comparison of
   * viewer tiles with plain geotiff.js reads of the same windows (see `compare`).
   */
  private exposeBenchHook(): void {
    const hook = {
      timings: () => this.timings.map((t) => ({ ...t, window: { ...t.window } })),
      panBy: (dx: number, dy: number) => this.map?.panBy([dx, dy], { animate: false }),
      setZoom: (z: number) => this.map?.setZoom(z, { animate: false }),
      zoom: () => this.map?.getZoom() ?? null,
      compare: (windows: PixelWindow[], warmup: number) => this.compareWithPlainReads(windows, warmup),
    };
    Object.defineProperty(this.node, 'floeSarBench', { value: hook, configurable: true });
  }

  /**
   * Viewer tiles against plain geotiff.js `readRasters` of the same windows: two fresh workers (each
   * window is new to both, so both start cold on it), interleaved window by window, the order swapped on
   * every window. A viewer tile counts until its pixels are on a canvas (worker read, dB, stretch,
   * colour, transfer, putImageData); a plain read until its samples are decoded in the worker. The first
   * `warmup` windows are not counted (JIT, first HTTP connections).
   */
  private async compareWithPlainReads(
    windows: PixelWindow[],
    warmup: number,
  ): Promise<{ viewer: number[]; plain: number[]; decode: number[]; render: number[]; draw: number[] }> {
    const spec = this.spec();
    if (!spec) throw new Error('nothing to draw');
    const band = spec.kind === 'single' ? spec.band : spec.co;
    const single: RenderSpec =
      spec.kind === 'single'
        ? spec
        : { kind: 'single', band, scale: spec.scale, stretch: spec.stretches[0], colormap: this.colormap };
    const tiles = new SarWorkerClient();
    const plain = new SarWorkerClient();
    const canvas = document.createElement('canvas');
    canvas.width = TILE_SIZE;
    canvas.height = TILE_SIZE;
    const out = {
      viewer: [] as number[],
      plain: [] as number[],
      decode: [] as number[],
      render: [] as number[],
      draw: [] as number[],
    };
    try {
      const opening = { type: 'open' as const, sources: this.sourceList, headers: this.authHeaders() };
      await Promise.all([tiles.call(opening).promise, plain.call(opening).promise]);
      for (const [i, window] of windows.entries()) {
        const viewerTile = async (): Promise<void> => {
          const t0 = performance.now();
          const r = await tiles.call<TileResult>({ type: 'tile', window, size: TILE_SIZE, spec: single }).promise;
          const drawMs = drawTile(canvas, r);
          if (i < warmup) return;
          out.viewer.push(performance.now() - t0);
          out.decode.push(r.decodeMs);
          out.render.push(r.renderMs);
          out.draw.push(drawMs);
        };
        const plainRead = async (): Promise<void> => {
          const t0 = performance.now();
          await plain.call<PlainReadResult>({ type: 'plain', window, size: TILE_SIZE, band }).promise;
          if (i >= warmup) out.plain.push(performance.now() - t0);
        };
        if (i % 2 === 0) {
          await plainRead();
          await viewerTile();
        } else {
          await viewerTile();
          await plainRead();
        }
      }
      return out;
    } finally {
      tiles.dispose();
      plain.dispose();
    }
  }

  private async loadStats(): Promise<void> {
    const [low, high] = this.options.percentiles;
    const stats = await this.client.call<StatsResult>({
      type: 'stats',
      scale: this.scaleChoice,
      co: this.pair?.co ?? null,
      cross: this.pair?.cross ?? null,
      percentiles: [low, high] as [number, number],
    }).promise;
    this.stats = stats;
    this.stretches = [
      ...stats.bands.map((b) => ({ low: b.low, high: b.high })),
      stats.ratio ? { low: stats.ratio.low, high: stats.ratio.high } : { low: 0, high: 1 },
    ];
    if (stats.bands.every((b) => b.valid === 0)) {
      this.fail(
        `no valid pixels: every sampled pixel of ${this.options.localPath} is nodata or NaN (${stats.sampledFrom}); nothing to draw`,
      );
    }
  }

  private spec(): RenderSpec | null {
    if (!this.summary) return null;
    if (!this.stats) {
      // Provisional: the worker replaces the scale and stretches with those of the first decoded tile.
      const any: Stretch = { low: 0, high: 1 };
      if (this.view === COMPOSITE && this.pair) {
        const { co, cross } = this.pair;
        return { kind: 'composite', co, cross, scale: 'db', stretches: [any, any, any] };
      }
      return { kind: 'single', band: Number(this.view), scale: 'db', stretch: any, colormap: this.colormap };
    }
    const scale = this.stats.scale;
    if (this.view === COMPOSITE && this.pair) {
      const n = this.summary!.bands.length;
      return {
        kind: 'composite',
        co: this.pair.co,
        cross: this.pair.cross,
        scale,
        stretches: [this.stretches[this.pair.co]!, this.stretches[this.pair.cross]!, this.stretches[n]!],
      };
    }
    const band = Number(this.view);
    const stretch = this.stretches[band]!;
    if (!Number.isFinite(stretch.low) || !Number.isFinite(stretch.high)) return null;
    return { kind: 'single', band, scale, stretch, colormap: this.colormap };
  }

  private select(
    label: string,
    name: string,
    entries: [string, string][],
    value: string,
    onChange: (v: string) => void,
  ): HTMLSelectElement {
    const wrap = document.createElement('label');
    wrap.className = 'floe-SarViewer-control';
    wrap.textContent = `${label} `;
    const select = document.createElement('select');
    select.name = name;
    for (const [v, text] of entries) {
      const option = document.createElement('option');
      option.value = v;
      option.textContent = text;
      select.append(option);
    }
    select.value = value;
    select.addEventListener('change', () => onChange(select.value));
    wrap.append(select);
    this.toolbar.append(wrap);
    return select;
  }

  private buildToolbar(): void {
    const summary = this.summary!;
    this.toolbar.replaceChildren();
    const views: [string, string][] = summary.bands.map((b, i) => [String(i), `${b.name} (${b.dataType})`]);
    if (this.pair) {
      const co = summary.bands[this.pair.co]!.name;
      const cross = summary.bands[this.pair.cross]!.name;
      views.unshift([COMPOSITE, `Composite R ${co}, G ${cross}, B ${co}/${cross}`]);
    }
    this.select('View', 'view', views, this.view, (v) => {
      this.view = v;
      this.refreshStretchInputs();
      this.redraw();
    });
    const auto = this.stats!.scale;
    this.select(
      'Values',
      'scale',
      [['auto', `auto: ${SCALE_LABELS[auto]}`], ...VALUE_SCALES.map((s): [string, string] => [s, SCALE_LABELS[s]])],
      this.scaleChoice,
      (v) => {
        this.scaleChoice = v as ScaleChoice;
        void this.loadStats().then(
          () => {
            this.refreshStretchInputs();
            this.describe();
            this.redraw();
          },
          (err: Error) => this.fail(err.message),
        );
      },
    );
    this.select(
      'Colormap',
      'colormap',
      COLORMAPS.map((c): [string, string] => [c, c]),
      this.colormap,
      (v) => {
        this.colormap = v as ColormapName;
        this.redraw();
      },
    );
    const stretch = document.createElement('span');
    stretch.className = 'floe-SarViewer-stretch';
    this.toolbar.append(stretch);
    this.refreshStretchInputs();
  }

  /** Stretch inputs for the channels of the current view (low/high, in display units). */
  private refreshStretchInputs(): void {
    const holder = this.toolbar.querySelector('.floe-SarViewer-stretch');
    if (!holder || !this.summary) return;
    holder.replaceChildren();
    const n = this.summary.bands.length;
    const channels: [number, string][] =
      this.view === COMPOSITE && this.pair
        ? [
            [this.pair.co, 'R'],
            [this.pair.cross, 'G'],
            [n, 'B'],
          ]
        : [[Number(this.view), 'stretch']];
    const unit = this.stats!.scale === 'linear' ? '' : ' dB';
    for (const [index, label] of channels) {
      const s = this.stretches[index]!;
      const span = document.createElement('span');
      span.className = 'floe-SarViewer-range';
      span.append(`${label} `);
      for (const end of ['low', 'high'] as const) {
        const input = document.createElement('input');
        input.type = 'number';
        input.step = 'any';
        input.name = `${label}-${end}`;
        input.value = Number.isFinite(s[end]) ? s[end].toFixed(2) : '';
        input.addEventListener('change', () => {
          const v = Number(input.value);
          if (input.value !== '' && Number.isFinite(v)) {
            this.stretches[index] = { ...this.stretches[index]!, [end]: v };
            this.redraw();
          }
        });
        span.append(input);
        if (end === 'low') span.append('…');
      }
      span.append(unit);
      holder.append(span);
    }
    const [lo, hi] = this.options.percentiles;
    holder.setAttribute('title', `Percentile stretch ${lo}–${hi} % from ${this.stats!.sampledFrom}`);
  }

  private describe(): void {
    const summary = this.summary!;
    const stats = this.stats;
    const lines: string[] = [];
    lines.push(
      `${summary.width.toLocaleString('en')} × ${summary.height.toLocaleString('en')} px, ${summary.bands.length} band(s)` +
        (summary.overviews.length ? `, ${summary.overviews.length} overview(s)` : ', no overviews') +
        (stats
          ? ` · values: ${SCALE_LABELS[stats.scale]} (${stats.scaleReason})`
          : ' · provisional look from the first tile; image statistics loading…'),
    );
    lines.push(georefNote(summary.georeferencing));
    for (const w of summary.warnings) lines.push(`⚠ ${w}`);
    this.notes.replaceChildren(
      ...lines.map((text) => {
        const p = document.createElement('div');
        p.textContent = text;
        if (text.startsWith('⚠')) p.className = 'floe-SarViewer-warning';
        return p;
      }),
    );
  }

  private buildMap(L: typeof Leaflet, summary: RasterSummary): void {
    const { width, height } = summary;
    const box = this.mapNode.getBoundingClientRect();
    const viewW = Math.max(box.width, 200);
    const viewH = Math.max(box.height, 200);
    const fit = Math.floor(Math.log2(Math.min(viewW / width, viewH / height)));
    let minZoom = Math.min(0, fit - 1);
    // Without overviews each low-zoom tile would decode the whole image under it: keep to closer zooms.
    if (summary.overviews.length === 0 && width * height > 64e6) minZoom = Math.max(minZoom, -3);
    const map = L.map(this.mapNode, {
      crs: L.CRS.Simple,
      minZoom,
      maxZoom: 4,
      zoomSnap: 1,
      attributionControl: false,
      preferCanvas: true,
    });
    const bounds = L.latLngBounds([-height, 0], [0, width]);
    map.fitBounds(bounds);
    map.setMaxBounds(bounds.pad(0.5));
    this.map = map;
    this.layer = sarTileLayer(L, {
      client: this.client,
      width,
      height,
      spec: () => this.spec(),
      provisional: () => this.provisional,
      onTile: (t) => {
        this.timings.push(t);
        if (this.timings.length === 1) {
          this.node.dataset.firstTileMs = (performance.now() - this.openedAt).toFixed(0);
          // Since the page's navigation started (the time origin): what a user waits after opening the URL.
          this.node.dataset.firstTileAtMs = performance.now().toFixed(0);
        }
        this.node.dataset.tilesPainted = String(this.timings.length);
      },
      onError: (message) => {
        if (this.tileErrors.has(message)) return;
        this.tileErrors.add(message);
        this.fail(`could not read part of ${this.options.localPath}: ${message}`);
      },
    }).addTo(map);
    L.rectangle(bounds, { color: '#888', weight: 1, fill: false, interactive: false }).addTo(map);
    this.addScaleBar(L, map, summary);
    map.on('mousemove', (e: Leaflet.LeafletMouseEvent) => this.showPixel(e.latlng));
    if (this.options.annotations ?? true) {
      this.annotations = new SarAnnotations({
        L,
        map,
        georeferencing: summary.georeferencing,
        width,
        height,
        rasterPath: this.options.localPath,
        overlays: this.options.overlays ?? [],
        discover: this.options.discoverOverlays ?? true,
        contents: this.options.contents,
        serverSettings: this.options.serverSettings,
      });
      this.body.append(this.annotations.node);
      map.invalidateSize();
    }
  }

  private addScaleBar(L: typeof Leaflet, map: Leaflet.Map, summary: RasterSummary): void {
    const metres = pixelSizeMetres(summary.georeferencing, summary.width, summary.height);
    if (metres === null) return;
    const ScaleBar = L.Control.extend({
      onAdd: () => {
        const node = L.DomUtil.create('div', 'floe-SarViewer-scalebar');
        const update = (): void => {
          const perScreenPx = metres / 2 ** map.getZoom();
          const target = perScreenPx * 120;
          const p = 10 ** Math.floor(Math.log10(target));
          const nice = [5, 2, 1].map((k) => k * p).find((v) => v <= target) ?? p;
          node.style.width = `${Math.round(nice / perScreenPx)}px`;
          node.textContent = nice >= 1000 ? `${nice / 1000} km` : `${nice} m`;
        };
        map.on('zoomend', update);
        update();
        return node;
      },
    });
    new ScaleBar({ position: 'bottomleft' }).addTo(map);
  }

  private redraw(): void {
    this.layer?.recolour();
  }

  private showPixel(latlng: Leaflet.LatLng): void {
    const summary = this.summary;
    if (!summary || !this.stats) return;
    const col = Math.floor(latlng.lng);
    const row = Math.floor(-latlng.lat);
    if (col < 0 || row < 0 || col >= summary.width || row >= summary.height) {
      this.readout.textContent = 'outside the image';
      return;
    }
    const call = this.client.call<PixelResult>({ type: 'pixel', col, row });
    // Only the newest answer is shown; older ones are cancelled as the pointer moves on.
    if (this.pixelCall) this.client.cancel(this.pixelCall);
    this.pixelCall = call.id;
    call.promise.then(
      (result) => {
        if (call.id !== this.pixelCall) return;
        const parts = [`row ${row}, col ${col}`];
        const geo = summary.georeferencing;
        if (geo.kind !== 'none') {
          const [x, y] = pixelToMap(geo.transform, col + 0.5, row + 0.5);
          const ll = toLonLat(geo.epsg, x, y);
          parts.push(
            ll
              ? `lon ${ll[0].toFixed(5)}, lat ${ll[1].toFixed(5)}${geo.kind === 'gcps' ? ' (approx.)' : ''}`
              : `x ${x.toFixed(2)}, y ${y.toFixed(2)} (EPSG:${geo.epsg})`,
          );
        }
        const scale = this.stats!.scale;
        const values = result.values.map((v, i) => {
          const band = summary.bands[i]!;
          const invalid = Number.isNaN(v) || (band.nodata !== null && v === band.nodata);
          if (invalid) return `${band.name} ${Number.isNaN(v) ? 'NaN' : v} (nodata)`;
          const db = toDb(v, scale, band.nodata);
          const raw = Number.isInteger(v) ? String(v) : v.toPrecision(6);
          return scale === 'db'
            ? `${band.name} ${raw} dB`
            : `${band.name} ${raw} (${Number.isFinite(db) ? db.toFixed(2) : '−∞'} dB)`;
        });
        this.readout.textContent = `${parts.join(' · ')} · ${values.join(' · ')}`;
        this.readout.dataset.row = String(row);
        this.readout.dataset.col = String(col);
        this.readout.dataset.values = JSON.stringify(result.values.map((v) => (Number.isNaN(v) ? 'NaN' : v)));
      },
      (err: Error) => {
        if (err instanceof CancelledError || call.id !== this.pixelCall) return;
        this.readout.textContent = `row ${row}, col ${col}: ${err.message}`;
      },
    );
  }
}

function findPair(summary: RasterSummary): { co: number; cross: number } | null {
  const names = summary.bands.map((b) => b.name.toUpperCase());
  for (const [coName, crossName] of [
    ['VV', 'VH'],
    ['HH', 'HV'],
  ]) {
    const co = names.indexOf(coName!);
    const cross = names.indexOf(crossName!);
    if (co >= 0 && cross >= 0) return { co, cross };
  }
  return null;
}

function georefNote(geo: Georeferencing): string {
  switch (geo.kind) {
    case 'none':
      return 'No georeferencing: shown in pixel space (row/col only).';
    case 'affine': {
      const crs = geo.epsg ? `EPSG:${geo.epsg}` : 'unknown CRS';
      return lonLatSupported(geo.epsg)
        ? `Georeferenced (affine, ${crs}); drawn in the image's pixel grid (not reprojected, no basemap), lon/lat in the readout.`
        : `Georeferenced (affine, ${crs}); drawn in the pixel grid, map x/y in the readout (no lon/lat conversion for this CRS).`;
    }
    case 'gcps':
      return `Approximate placement from ${geo.count} GCPs (affine fit, RMS error ${geo.rmsPixels.toFixed(1)} px); drawn in the pixel grid, lon/lat in the readout are approximate.`;
  }
}

export { TILE_SIZE };
