/**
 * The SAR viewer's decoding worker: opens GeoTIFFs over HTTP range requests with geotiff.js, reads
 * windows from the overview that fits the zoom, converts to dB and paints RGBA tiles, so the page's
 * main thread never decodes.
 */
import type { GeoTIFF, GeoTIFFImage } from 'geotiff';
import { affineFromTags, fitAffineToGcps, gcpsFromTiepoints, type Georeferencing } from './georef';
import type {
  BandSummary,
  PixelWindow,
  RasterSource,
  RasterSummary,
  StatsResult,
  TileResult,
  WorkerRequest,
  WorkerResponse,
} from './protocol';
import {
  guessValueScale,
  paintInto,
  percentileStats,
  toDisplay,
  type ChannelStats,
  type RenderSpec,
  type Stretch,
  type ValueScale,
} from './render';

// The extension compiles with the DOM library; only these two members of the worker scope are used.
declare const self: {
  postMessage(message: WorkerResponse, transfer: Transferable[]): void;
  onmessage: ((event: MessageEvent<WorkerRequest>) => void) | null;
};

interface OpenSource {
  source: RasterSource;
  tiff: GeoTIFF;
  /** Full image first, then overviews from largest to smallest. */
  levels: GeoTIFFImage[];
}

interface OpenRaster {
  sources: OpenSource[];
  summary: RasterSummary;
  headers: Record<string, string>;
  /** Decimated samples (one Float64Array-like per band) kept for re-computing statistics. */
  statsSample: { bands: ArrayLike<number>[]; from: string } | null;
}

let raster: OpenRaster | null = null;
const running = new Map<number, AbortController>();

// geotiff.js (a separate chunk) starts loading as soon as the worker does, while the page still loads
// Leaflet and asks for the partner file: opening a raster then waits for nothing but the file.
const geotiffModule = import('geotiff');
// geotiff.js imports each decoder (DEFLATE with pako, LZW) as a chunk of its own on the first tile that
// needs it: load the common ones now, beside the header read, not after it.
void geotiffModule.then(
  (m) =>
    Promise.all(
      [8, 5].map((compression) =>
        m
          .getDecoder(compression, {
            tileWidth: 256,
            tileHeight: 256,
            predictor: 1,
            bitsPerSample: [16],
            planarConfiguration: 1,
          })
          .catch(() => undefined),
      ),
    ),
  () => undefined,
);

/** HTTP reads of the worker so far (Resource Timing): how many, bytes, and the time any was in flight. */
function httpSoFar(): { requests: number; kib: number; busyMs: number } {
  const entries = performance.getEntriesByType('resource') as PerformanceResourceTiming[];
  const reads = entries.filter((e) => !/\.js(\?|$)/.test(e.name));
  let busy = 0;
  let until = -Infinity;
  for (const e of [...reads].sort((a, b) => a.startTime - b.startTime)) {
    const end = e.startTime + e.duration;
    if (end <= until) continue;
    busy += end - Math.max(e.startTime, until);
    until = end;
  }
  const bytes = reads.reduce((sum, e) => sum + (e.encodedBodySize || e.transferSize || 0), 0);
  return { requests: reads.length, kib: Math.round(bytes / 1024), busyMs: Math.round(busy) };
}
let firstTileReported = false;

/**
 * The first screen's tile reads take turns: in one worker thread, four tiles decoded at once all finish
 * late together; one after another, the first is on screen after a quarter of the time (the overview
 * bytes are prefetched, so the network is not left idle). Pixel readouts and statistics do not queue.
 */
let tileTurn: Promise<void> = Promise.resolve();
async function inTurn<T>(work: () => Promise<T>): Promise<T> {
  const previous = tileTurn;
  let release!: () => void;
  tileTurn = new Promise((resolve) => (release = resolve));
  try {
    await previous;
    return await work();
  } finally {
    release();
  }
}

/**
 * Decoded windows (raw samples as read, one entry per band), so a new stretch, colormap or the
 * statistics replacing the provisional look re-colour tiles without reading or decoding again.
 */
const decoded = new Map<string, { data: ArrayLike<number>; level: number; bytes: number }>();
let decodedBytes = 0;
const DECODED_BUDGET = 64 * 1024 * 1024;

function remember(key: string, data: ArrayLike<number>, level: number): void {
  const bytes = (data as unknown as ArrayBufferView).byteLength ?? data.length * 8;
  decoded.set(key, { data, level, bytes });
  decodedBytes += bytes;
  for (const [k, v] of decoded) {
    if (decodedBytes <= DECODED_BUDGET) break;
    decoded.delete(k);
    decodedBytes -= v.bytes;
  }
}

function recall(key: string): { data: ArrayLike<number>; level: number } | undefined {
  const hit = decoded.get(key);
  if (hit) {
    // Most recently used last (Map keeps insertion order): eviction takes the oldest first.
    decoded.delete(key);
    decoded.set(key, hit);
  }
  return hit;
}

/**
 * The look of the first tiles, painted before the statistics of the whole image are in: value scale and
 * percentile stretches from the first decoded tile (at the opening zoom it covers most of the image),
 * then kept for every provisional tile so they match each other.
 */
interface ProvisionalLook {
  scale: ValueScale;
  stretches: Map<number | 'ratio', Stretch>;
}
let provisional: ProvisionalLook | null = null;

const COMPLEX_NAMES: Record<string, string> = {
  '5:32': 'CInt16',
  '5:64': 'CInt32',
  '6:64': 'CFloat32',
  '6:128': 'CFloat64',
};
const TYPE_NAMES: Record<string, string> = {
  '1:8': 'UInt8',
  '1:16': 'UInt16',
  '1:32': 'UInt32',
  '2:8': 'Int8',
  '2:16': 'Int16',
  '2:32': 'Int32',
  '3:16': 'Float16',
  '3:32': 'Float32',
  '3:64': 'Float64',
};

function reply(message: WorkerResponse, transfer: Transferable[] = []): void {
  self.postMessage(message, transfer);
}

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

async function levelsOf(tiff: GeoTIFF): Promise<GeoTIFFImage[]> {
  const count = await tiff.getImageCount();
  const main = await tiff.getImage(0);
  const levels = [main];
  for (let i = 1; i < count; i++) {
    const image = await tiff.getImage(i);
    const sub = Number(image.getFileDirectory().getValue('NewSubfileType') ?? 0);
    // Bit 0: reduced-resolution copy; bit 2: a transparency mask, not an overview of the data.
    if ((sub & 1) === 1 && (sub & 4) === 0 && image.getSamplesPerPixel() === main.getSamplesPerPixel())
      levels.push(image);
  }
  return levels.sort((a, b) => b.getWidth() - a.getWidth());
}

function polarisationFromName(label: string): string | null {
  const m = /(?:^|[^a-z])(vv|vh|hh|hv)(?:[^a-z]|$)/i.exec(label.split('/').pop() ?? label);
  return m ? m[1]!.toUpperCase() : null;
}

async function georeferencingOf(image: GeoTIFFImage): Promise<Georeferencing> {
  const fd = image.getFileDirectory();
  const keys = (image.getGeoKeys() ?? {}) as Record<string, unknown>;
  const code = Number(keys.ProjectedCSTypeGeoKey ?? keys.GeographicTypeGeoKey ?? NaN);
  const epsg = Number.isInteger(code) && code > 0 && code !== 32767 ? code : null;
  const [matrix, scale, ties] = (await Promise.all([
    fd.loadValue('ModelTransformation'),
    fd.loadValue('ModelPixelScale'),
    fd.loadValue('ModelTiepoint'),
  ])) as (ArrayLike<number> | undefined)[];
  const gt = affineFromTags(matrix, scale, ties, Number(keys.GTRasterTypeGeoKey) === 2);
  if (gt) return { kind: 'affine', transform: gt, epsg };
  if (ties && ties.length >= 18) {
    const gcps = gcpsFromTiepoints(ties);
    const fit = fitAffineToGcps(gcps);
    return { kind: 'gcps', transform: fit.transform, epsg, count: gcps.length, rmsPixels: fit.rmsPixels };
  }
  return { kind: 'none' };
}

async function open(sources: RasterSource[], headers: Record<string, string>): Promise<RasterSummary> {
  const phases: Record<string, number> = {};
  let mark = performance.now();
  const lap = (name: string): void => {
    const now = performance.now();
    phases[name] = (phases[name] ?? 0) + (now - mark);
    mark = now;
  };
  const { fromUrl } = await geotiffModule;
  lap('load geotiff.js');
  const opened: OpenSource[] = [];
  const bands: BandSummary[] = [];
  const warnings: string[] = [];
  const hints: string[] = [];
  let isFloat = false;
  // Blocks of 64 KiB, cached (16 MiB): geotiff.js 3 reads unblocked by default, which turns each
  // tile offset of a large COG into its own 4-byte HTTP request.
  // A file smaller than one block comes back whole (HTTP 200 instead of 206): accept that.
  const options = { headers, allowFullFile: true, blockSize: 65536, cacheSize: 256, credentials: 'same-origin' };
  // Both polarisations' headers and image directories are read at once (one round trip, not two).
  const parsed = await Promise.all(
    sources.map(async (source) => {
      try {
        // fromUrl passes these on to makeRemoteSource, whose types (unlike fromUrl's) include the block options.
        const tiff = await fromUrl(source.url, options as Parameters<typeof fromUrl>[1]);
        return { tiff, levels: await levelsOf(tiff) };
      } catch (err) {
        return { err };
      }
    }),
  );
  lap('header and image directories');
  for (const [s, source] of sources.entries()) {
    const result = parsed[s]!;
    if ('err' in result) {
      if (s > 0) {
        warnings.push(`${source.label} was not added to the composite: ${messageOf(result.err)}`);
        continue;
      }
      throw new Error(`${source.label} is not a readable TIFF: ${await explain(source.url, headers, result.err)}`);
    }
    const { tiff, levels } = result;
    const main = levels[0]!;
    if (
      s > 0 &&
      (main.getWidth() !== opened[0]!.levels[0]!.getWidth() || main.getHeight() !== opened[0]!.levels[0]!.getHeight())
    ) {
      warnings.push(
        `${source.label} has another size (${main.getWidth()}×${main.getHeight()}): not added to the composite`,
      );
      continue;
    }
    const samples = main.getSamplesPerPixel();
    for (let i = 0; i < samples; i++) {
      const typeKey = `${main.getSampleFormat(i)}:${main.getBitsPerSample(i)}`;
      const complex = COMPLEX_NAMES[typeKey];
      if (complex) {
        throw new Error(
          `complex SAR samples (${complex}) are not supported: ${source.label} holds single-look complex (SLC) data; ` +
            'the viewer shows detected amplitude, intensity or dB rasters (detect the SLC first, e.g. |z|² multilooked)',
        );
      }
      if (main.getSampleFormat(i) === 3) isFloat = true;
      const metadata = (await main.getGDALMetadata(i).catch(() => null)) as Record<string, string> | null;
      const description = metadata?.DESCRIPTION?.trim();
      const name =
        description || (samples === 1 ? polarisationFromName(source.label) : null) || `band ${bands.length + 1}`;
      bands.push({
        name,
        source: opened.length,
        sample: i,
        dataType: TYPE_NAMES[typeKey] ?? `format ${typeKey}`,
        nodata: main.getGDALNoData(),
      });
      hints.push(name);
    }
    const description: unknown = await main.getFileDirectory().loadValue('ImageDescription');
    if (typeof description === 'string') hints.push(description);
    hints.push(source.label);
    opened.push({ source, tiff, levels });
    lap('band metadata');
  }
  const first = opened[0]!;
  const main = first.levels[0]!;
  let georeferencing: Georeferencing;
  try {
    georeferencing = await georeferencingOf(main);
  } catch (err) {
    warnings.push(`georeferencing ignored: ${messageOf(err)}`);
    georeferencing = { kind: 'none' };
  }
  lap('georeferencing');
  const width = main.getWidth();
  const height = main.getHeight();
  if (first.levels.length === 1 && width * height > 64e6) {
    warnings.push(
      `${width.toLocaleString('en')}×${height.toLocaleString('en')} pixels and no overviews: the view is limited to closer zooms and statistics come from a central window (add overviews with gdaladdo for a full view)`,
    );
  }
  const summary: RasterSummary = {
    width,
    height,
    bands,
    overviews: first.levels.slice(1).map((im) => ({ width: im.getWidth(), height: im.getHeight() })),
    tileWidth: main.isTiled ? main.getTileWidth() : width,
    tileHeight: main.isTiled ? main.getTileHeight() : main.getTileHeight(),
    isFloat,
    georeferencing,
    hints: hints.join(' '),
    warnings,
    phases,
  };
  raster = { sources: opened, summary, headers, statsSample: null };
  provisional = null;
  decoded.clear();
  decodedBytes = 0;
  for (const src of opened) void prefetchSmallestOverview(src);
  return summary;
}

/**
 * Starts reading the smallest overview's tile bytes in one HTTP range request, not awaited: the first
 * tiles (whole-image view) and the statistics read that level, and their reads then find the bytes in
 * the block cache, or join the request in flight. Skipped when the level is not one contiguous run of
 * a few MiB (a non-COG layout), where it would fetch bytes nobody reads.
 */
async function prefetchSmallestOverview(src: OpenSource): Promise<void> {
  if (src.levels.length < 2) return;
  try {
    const fd = src.levels[src.levels.length - 1]!.getFileDirectory();
    const [offsets, counts] = (await Promise.all([
      fd.loadValue(fd.hasTag('TileOffsets') ? 'TileOffsets' : 'StripOffsets'),
      fd.loadValue(fd.hasTag('TileByteCounts') ? 'TileByteCounts' : 'StripByteCounts'),
    ])) as [ArrayLike<number | bigint>, ArrayLike<number | bigint>];
    let start = Infinity;
    let end = 0;
    let total = 0;
    for (let i = 0; i < offsets.length; i++) {
      const o = Number(offsets[i]);
      const n = Number(counts[i]);
      if (n === 0) continue;
      start = Math.min(start, o);
      end = Math.max(end, o + n);
      total += n;
    }
    if (!(end > start) || end - start > 8 * 1024 * 1024 || end - start > total * 1.25) return;
    await src.tiff.source.fetch([{ offset: start, length: end - start }]);
  } catch {
    // Only a head start: the reads that need these bytes fetch them (and report failures) themselves.
  }
}

/** Turns a failed read into the likeliest cause: the file is gone, or not allowed, or broken. */
async function explain(url: string, headers: Record<string, string>, err: unknown): Promise<string> {
  try {
    const response = await fetch(url, { method: 'HEAD', headers, cache: 'no-store' });
    if (response.status === 404) return 'the file is gone (HTTP 404): it was deleted or moved while open';
    if (response.status === 403) {
      return 'Jupyter refused to serve it (HTTP 403): /files/ does not serve files reached through a symlink that leads out of the server root';
    }
    if (!response.ok) return `the server answered HTTP ${response.status} ${response.statusText}`;
  } catch {
    return `the Jupyter server did not answer (${messageOf(err)})`;
  }
  return messageOf(err);
}

function need(): OpenRaster {
  if (!raster) throw new Error('no raster is open');
  return raster;
}

/** Index of the smallest level whose resolution still covers `decimation` (source pixels per output pixel). */
function levelFor(levels: GeoTIFFImage[], fullWidth: number, decimation: number): number {
  let best = 0;
  for (let k = 1; k < levels.length; k++) if (fullWidth / levels[k]!.getWidth() <= decimation * 1.01) best = k;
  return best;
}

async function readWindow(
  src: OpenSource,
  window: PixelWindow,
  outW: number,
  outH: number,
  samples: number[],
  signal: AbortSignal,
): Promise<{ data: ArrayLike<number>[]; level: number }> {
  const full = src.levels[0]!;
  const W = full.getWidth();
  const H = full.getHeight();
  const level = levelFor(
    src.levels,
    W,
    Math.min((window.col1 - window.col0) / outW, (window.row1 - window.row0) / outH),
  );
  const image = src.levels[level]!;
  const fx = W / image.getWidth();
  const fy = H / image.getHeight();
  const w = [
    Math.max(0, Math.floor(window.col0 / fx)),
    Math.max(0, Math.floor(window.row0 / fy)),
    Math.min(image.getWidth(), Math.max(1, Math.ceil(window.col1 / fx))),
    Math.min(image.getHeight(), Math.max(1, Math.ceil(window.row1 / fy))),
  ];
  const data = (await image.readRasters({
    window: w,
    width: outW,
    height: outH,
    samples,
    interleave: false,
    resampleMethod: 'nearest',
    signal,
  })) as unknown as ArrayLike<number>[];
  return { data, level };
}

/** Scale and stretches for provisional tiles, from the first decoded tile (then reused). */
function provisionalLook(r: OpenRaster, bands: ArrayLike<number>[], wanted: number[], spec: RenderSpec): RenderSpec {
  if (!provisional) {
    let minValue: number | null = null;
    for (const b of wanted) {
      const data = bands[b]!;
      const nd = r.summary.bands[b]!.nodata;
      for (let k = 0; k < data.length; k++) {
        const v = data[k]!;
        if (Number.isFinite(v) && v !== nd && (minValue === null || v < minValue)) minValue = v;
      }
    }
    const { scale } = guessValueScale({ isFloat: r.summary.isFloat, minValue, hints: r.summary.hints });
    provisional = { scale, stretches: new Map() };
  }
  const look = provisional;
  const display = new Map<number, Float32Array>();
  const displayOf = (b: number): Float32Array => {
    let d = display.get(b);
    if (!d) {
      const data = bands[b]!;
      const nd = r.summary.bands[b]!.nodata;
      // Every step-th pixel (≤ 16,384 values) is plenty for a provisional 2–98 % stretch, and 4× less to sort.
      const step = Math.max(1, Math.floor(data.length / 16384));
      d = new Float32Array(Math.ceil(data.length / step));
      for (let k = 0, j = 0; k < data.length; k += step, j++) d[j] = toDisplay(data[k]!, look.scale, nd);
      display.set(b, d);
    }
    return d;
  };
  const stretchOf = (key: number | 'ratio'): Stretch => {
    let s = look.stretches.get(key);
    if (!s) {
      let values: Float32Array;
      if (key === 'ratio' && spec.kind === 'composite') {
        const a = displayOf(spec.co);
        const b = displayOf(spec.cross);
        values = new Float32Array(a.length);
        for (let k = 0; k < a.length; k++) values[k] = a[k]! - b[k]!;
      } else values = displayOf(key as number);
      const st = percentileStats(values, 2, 98);
      s = { low: st.low, high: st.high };
      look.stretches.set(key, s);
    }
    return s;
  };
  if (spec.kind === 'single') return { ...spec, scale: look.scale, stretch: stretchOf(spec.band) };
  return {
    ...spec,
    scale: look.scale,
    stretches: [stretchOf(spec.co), stretchOf(spec.cross), stretchOf('ratio')],
  };
}

async function tile(
  window: PixelWindow,
  size: number,
  spec: RenderSpec,
  isProvisional: boolean,
  signal: AbortSignal,
): Promise<TileResult> {
  const r = need();
  const { width: W, height: H } = r.summary;
  const scale = size / (window.col1 - window.col0);
  // The part of the tile the image covers, in tile pixels.
  const px0 = Math.round((Math.max(0, window.col0) - window.col0) * scale);
  const py0 = Math.round((Math.max(0, window.row0) - window.row0) * scale);
  const px1 = Math.min(size, Math.round((Math.min(W, window.col1) - window.col0) * scale));
  const py1 = Math.min(size, Math.round((Math.min(H, window.row1) - window.row0) * scale));
  const rgba = new Uint8ClampedArray(size * size * 4);
  const t0 = performance.now();
  let decodeMs = 0;
  let renderMs = 0;
  let level = 0;
  let cached = true;
  let used: RenderSpec = spec;
  if (px1 > px0 && py1 > py0) {
    const inner: PixelWindow = {
      col0: Math.max(0, window.col0),
      row0: Math.max(0, window.row0),
      col1: Math.min(W, window.col1),
      row1: Math.min(H, window.row1),
    };
    const outW = px1 - px0;
    const outH = py1 - py0;
    const wanted = spec.kind === 'single' ? [spec.band] : [spec.co, spec.cross];
    const bands: ArrayLike<number>[] = [];
    const windowKey = `${inner.col0},${inner.row0},${inner.col1},${inner.row1}:${outW}x${outH}`;
    await Promise.all(
      wanted.map(async (b) => {
        const key = `${windowKey}:${b}`;
        let hit = recall(key);
        if (!hit) {
          cached = false;
          const band = r.summary.bands[b]!;
          const reading = (): ReturnType<typeof readWindow> => {
            // Scrolled away while waiting for its turn: nothing to read.
            if (signal.aborted) throw new Error('cancelled');
            return readWindow(r.sources[band.source]!, inner, outW, outH, [band.sample], signal);
          };
          // Only the first screen (provisional tiles) takes turns; later, overlapping reads let one tile's
          // HTTP request run while another decodes, which panning needs more than an early first tile.
          const read = isProvisional ? await inTurn(reading) : await reading();
          hit = { data: read.data[0]!, level: read.level };
          remember(key, hit.data, hit.level);
        }
        bands[b] = hit.data;
        level = Math.max(level, hit.level);
      }),
    );
    decodeMs = performance.now() - t0;
    const t1 = performance.now();
    if (isProvisional) used = provisionalLook(r, bands, wanted, spec);
    paintInto(
      bands,
      r.summary.bands.map((b) => b.nodata),
      used,
      { out: rgba, width: outW, height: outH, stride: size, x0: px0, y0: py0 },
    );
    renderMs = performance.now() - t1;
  }
  return {
    rgba: rgba.buffer,
    size,
    level,
    decodeMs,
    renderMs,
    cached,
    provisional: isProvisional ? { scale: used.scale } : null,
    // Once, with the first tile painted: what HTTP cost up to here (header, overview bytes).
    http: firstTileReported ? null : ((firstTileReported = true), httpSoFar()),
  };
}

async function plain(
  window: PixelWindow,
  size: number,
  band: number,
  signal: AbortSignal,
): Promise<{ ms: number; samples: number }> {
  // The benchmark's reference: geotiff.js readRasters of the same window at the same level, nothing else.
  const r = need();
  const b = r.summary.bands[band]!;
  const src = r.sources[b.source]!;
  const t0 = performance.now();
  const out = await readWindow(src, window, size, size, [b.sample], signal);
  return { ms: performance.now() - t0, samples: out.data[0]!.length };
}

async function stats(
  scaleWanted: ValueScale | 'auto',
  co: number | null,
  cross: number | null,
  [lowPct, highPct]: [number, number],
): Promise<StatsResult> {
  const r = need();
  const { width: W, height: H } = r.summary;
  if (!r.statsSample) {
    const bands: ArrayLike<number>[] = [];
    let from = '';
    const signal = new AbortController().signal;
    for (const [i, band] of r.summary.bands.entries()) {
      const src = r.sources[band.source]!;
      // The smallest overview at least 256 px across, or the image itself decimated to ≤ 512 px; a huge
      // image without overviews is sampled in a central window instead of read whole.
      let window: PixelWindow = { col0: 0, row0: 0, col1: W, row1: H };
      const huge = src.levels.length === 1 && W * H > 64e6;
      if (huge) {
        const half = 1024;
        window = {
          col0: Math.max(0, W / 2 - half),
          row0: Math.max(0, H / 2 - half),
          col1: Math.min(W, W / 2 + half),
          row1: Math.min(H, H / 2 + half),
        };
      }
      let k = src.levels.length - 1;
      while (k > 0 && Math.max(src.levels[k]!.getWidth(), src.levels[k]!.getHeight()) < 256) k--;
      const image = src.levels[k]!;
      const f = Math.max(1, Math.max(image.getWidth(), image.getHeight()) / 512);
      const outW = Math.max(1, Math.round((((window.col1 - window.col0) / W) * image.getWidth()) / f));
      const outH = Math.max(1, Math.round((((window.row1 - window.row0) / H) * image.getHeight()) / f));
      const read = await readWindow(src, window, outW, outH, [band.sample], signal);
      bands[i] = read.data[0]!;
      from = `${huge ? 'central window, ' : ''}${k === 0 ? 'full image' : `overview ${image.getWidth()}×${image.getHeight()}`} sampled to ${outW}×${outH}`;
    }
    r.statsSample = { bands, from };
  }
  const sample = r.statsSample;
  let scale: ValueScale;
  let scaleReason: string;
  if (scaleWanted === 'auto') {
    let minValue: number | null = null;
    for (const [i, band] of r.summary.bands.entries()) {
      const data = sample.bands[i]!;
      for (let k = 0; k < data.length; k++) {
        const v = data[k]!;
        if (Number.isFinite(v) && v !== band.nodata && (minValue === null || v < minValue)) minValue = v;
      }
    }
    ({ scale, reason: scaleReason } = guessValueScale({
      isFloat: r.summary.isFloat,
      minValue,
      hints: r.summary.hints,
    }));
  } else {
    scale = scaleWanted;
    scaleReason = 'chosen by the user';
  }
  const display = r.summary.bands.map((band, i) => {
    const data = sample.bands[i]!;
    const out = new Float32Array(data.length);
    for (let k = 0; k < data.length; k++) out[k] = toDisplay(data[k]!, scale, band.nodata);
    return out;
  });
  const bandStats: ChannelStats[] = display.map((d) => percentileStats(d, lowPct, highPct));
  let ratio: ChannelStats | null = null;
  if (co !== null && cross !== null && display[co] && display[cross]) {
    const a = display[co]!;
    const b = display[cross]!;
    const d = new Float32Array(a.length);
    for (let k = 0; k < a.length; k++) d[k] = a[k]! - b[k]!;
    ratio = percentileStats(d, lowPct, highPct);
  }
  return { scale, scaleReason, bands: bandStats, ratio, sampledFrom: sample.from };
}

async function pixel(col: number, row: number, signal: AbortSignal): Promise<{ values: number[] }> {
  const r = need();
  const values: number[] = [];
  for (const band of r.summary.bands) {
    const src = r.sources[band.source]!;
    const data = (await src.levels[0]!.readRasters({
      window: [col, row, col + 1, row + 1],
      samples: [band.sample],
      interleave: false,
      signal,
    })) as unknown as ArrayLike<number>[];
    values.push(Number(data[0]![0]));
  }
  return { values };
}

self.onmessage = (event: MessageEvent<WorkerRequest>) => void handle(event.data);

async function handle(request: WorkerRequest): Promise<void> {
  if (request.type === 'cancel') {
    running.get(request.target)?.abort();
    return;
  }
  const controller = new AbortController();
  running.set(request.id, controller);
  try {
    switch (request.type) {
      case 'open':
        reply({ id: request.id, ok: true, result: await open(request.sources, request.headers) });
        break;
      case 'stats':
        reply({
          id: request.id,
          ok: true,
          result: await stats(request.scale, request.co, request.cross, request.percentiles),
        });
        break;
      case 'tile': {
        const result = await tile(
          request.window,
          request.size,
          request.spec,
          request.provisional ?? false,
          controller.signal,
        );
        reply({ id: request.id, ok: true, result }, [result.rgba]);
        break;
      }
      case 'pixel':
        reply({ id: request.id, ok: true, result: await pixel(request.col, request.row, controller.signal) });
        break;
      case 'plain':
        reply({
          id: request.id,
          ok: true,
          result: await plain(request.window, request.size, request.band, controller.signal),
        });
        break;
    }
  } catch (err) {
    const aborted = controller.signal.aborted;
    let error = messageOf(err);
    if (!aborted && raster && request.type !== 'open') {
      error = await explain(raster.sources[0]!.source.url, raster.headers, err);
      // The file is still there: what failed is decoding its bytes.
      if (error === messageOf(err) && request.type === 'tile') {
        const w = request.window;
        error = `decoding failed near rows ${Math.max(0, Math.round(w.row0))}–${Math.round(w.row1)}, columns ${Math.max(0, Math.round(w.col0))}–${Math.round(w.col1)} (${error}): the file's tile data looks damaged`;
      }
    }
    reply({ id: request.id, ok: false, error, aborted });
  } finally {
    running.delete(request.id);
  }
}
