import * as fs from 'node:fs';
import * as path from 'node:path';
import type { GeoTIFF, GeoTIFFImage } from 'geotiff';
import { fitGcpTransform, type GcpTransform, type GroundControlPoint } from './gcp';
import { projectionFor, type Projection } from './projection';

/**
 * GeoTIFF / COG rasters as chips for ingestion: band names, nodata, overviews, chips around points
 * or on a grid, and geolocation from the affine transform or from GCPs (Sentinel-1 GRD).
 * Chips are float32 per band with nodata turned into NaN, and say how much of them is valid, so an
 * all-nodata area is an explicit empty result rather than zeros that look like data.
 */

// geotiff.js is loaded on first use (it is large, and notebooks that never open a raster should not pay for it).
type GeotiffModule = typeof import('geotiff');
let geotiffModule: GeotiffModule | undefined;
function geotiff(): GeotiffModule {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  geotiffModule ??= require('geotiff') as GeotiffModule;
  return geotiffModule;
}

export class RasterError extends Error {
  override readonly name = 'RasterError';
  constructor(
    readonly file: string,
    detail: string,
    options?: { cause?: unknown },
  ) {
    super(`${file}: ${detail}`, options);
  }
}

export interface BandInfo {
  /** 0-based sample index in the file. */
  index: number;
  name: string;
  /** Where the name came from: GDAL's band description, the file name (e.g. `iw-vv.tiff` → VV), or `band_<n>`. */
  nameSource: 'gdal-description' | 'filename' | 'default';
  dataType: string;
}

export interface OverviewInfo {
  /** Image index in the file (0 is full resolution). */
  image: number;
  width: number;
  height: number;
  /** Full-resolution pixels per overview pixel along x and y. */
  factor: [number, number];
}

export type Georeferencing =
  | {
      kind: 'affine';
      /** GDAL order: x = t0 + col·t1 + row·t2, y = t3 + col·t4 + row·t5 (pixel-corner convention). */
      geoTransform: [number, number, number, number, number, number];
      epsg: number | null;
      crsName: string | null;
      /** Whether lon/lat points can be used (the CRS is one projection.ts implements). */
      lonLat: boolean;
    }
  | {
      kind: 'gcps';
      gcps: GroundControlPoint[];
      epsg: number | null;
      crsName: string | null;
      order: 1 | 2 | 3;
      rmsPixels: number;
      lonLat: boolean;
    }
  | { kind: 'none' };

export interface RasterInfo {
  file: string;
  width: number;
  height: number;
  bands: BandInfo[];
  nodata: number | null;
  tileWidth: number;
  tileHeight: number;
  overviews: OverviewInfo[];
  georeferencing: Georeferencing;
  /** TIFF ImageDescription (Sentinel-1: "Sentinel-1A IW GRD HR L1"). */
  description: string | null;
  /** Dataset-level GDAL metadata items. */
  metadata: Record<string, string>;
}

export interface Chip {
  /** Window in the pixel grid of the image read (full resolution unless `overview`). */
  col0: number;
  row0: number;
  size: number;
  overview: number;
  bandNames: string[];
  /** One float32 array per band, size×size row-major; nodata and outside-the-image pixels are NaN. */
  bands: Float32Array[];
  /** Fraction of pixels that are valid in every band (not nodata, not NaN, inside the image). */
  validFraction: number;
  /** True when no pixel is valid: the chip holds no data. */
  empty: boolean;
  /** Map and lon/lat position of the chip centre when the raster is georeferenced. */
  center: { x: number; y: number; lon: number | null; lat: number | null } | null;
}

export type ChipCenter = { col: number; row: number } | { lon: number; lat: number } | { x: number; y: number };

export interface ChipOptions {
  /** Band indices (0-based) or names; default all. */
  bands?: (number | string)[];
  /** Image index from `info.overviews` (0 = full resolution). */
  overview?: number;
  signal?: AbortSignal;
}

const DATA_TYPES: Record<string, string> = {
  '1:8': 'uint8',
  '1:16': 'uint16',
  '1:32': 'uint32',
  '2:8': 'int8',
  '2:16': 'int16',
  '2:32': 'int32',
  '3:16': 'float16',
  '3:32': 'float32',
  '3:64': 'float64',
};

export class RasterFile {
  private gcpTransform: GcpTransform | undefined;
  private projection: Projection | undefined;

  private constructor(
    readonly info: RasterInfo,
    private readonly tiff: GeoTIFF,
    private readonly images: GeoTIFFImage[],
    private readonly fileSize: number | undefined,
  ) {
    const g = info.georeferencing;
    if (g.kind !== 'none' && g.epsg !== null) this.projection = projectionFor(g.epsg);
    if (g.kind === 'gcps') this.gcpTransform = fitGcpTransform(g.gcps, g.order);
  }

  /** Opens a GeoTIFF from a path or an http(s) URL (read lazily, tile by tile) or from bytes. */
  static async open(
    source: string | ArrayBuffer,
    opts: { name?: string; signal?: AbortSignal } = {},
  ): Promise<RasterFile> {
    const file = opts.name ?? (typeof source === 'string' ? source : '<buffer>');
    let tiff: GeoTIFF;
    let fileSize: number | undefined;
    try {
      if (typeof source === 'string' && /^https?:\/\//i.test(source)) {
        // Cloud-optimised GeoTIFFs over http(s): geotiff.js reads the header and tiles by range requests.
        tiff = await geotiff().fromUrl(source, {}, opts.signal);
      } else if (typeof source === 'string') {
        const st = fs.statSync(source);
        if (!st.isFile()) throw new Error('not a regular file');
        fileSize = st.size;
        tiff = await geotiff().fromFile(source, opts.signal);
      } else {
        fileSize = source.byteLength;
        tiff = await geotiff().fromArrayBuffer(source, opts.signal);
      }
    } catch (err) {
      throw new RasterError(file, `cannot open as GeoTIFF: ${messageOf(err)}`, { cause: err });
    }
    try {
      const count = await tiff.getImageCount();
      const images: GeoTIFFImage[] = [];
      for (let i = 0; i < count; i++) images.push(await tiff.getImage(i));
      const info = await describe(file, images);
      return new RasterFile(info, tiff, images, fileSize);
    } catch (err) {
      await closeQuietly(tiff);
      if (err instanceof RasterError) throw err;
      throw new RasterError(file, `cannot read the GeoTIFF header: ${messageOf(err)}`, { cause: err });
    }
  }

  async close(): Promise<void> {
    await closeQuietly(this.tiff);
  }

  /** Full-resolution pixel (fractional; pixel centres at +0.5) → map coordinates. */
  pixelToMap(col: number, row: number): { x: number; y: number } {
    const g = this.info.georeferencing;
    if (g.kind === 'affine') {
      const t = g.geoTransform;
      return { x: t[0] + col * t[1] + row * t[2], y: t[3] + col * t[4] + row * t[5] };
    }
    if (g.kind === 'gcps') {
      const [x, y] = this.gcpTransform!.pixelToMap(col, row);
      return { x, y };
    }
    throw new RasterError(
      this.info.file,
      'the raster has no georeferencing (no geotransform, no GCPs): use pixel positions',
    );
  }

  mapToPixel(x: number, y: number): { col: number; row: number } {
    const g = this.info.georeferencing;
    if (g.kind === 'affine') {
      const [t0, t1, t2, t3, t4, t5] = g.geoTransform;
      const det = t1 * t5 - t2 * t4;
      if (det === 0) throw new RasterError(this.info.file, 'the geotransform is singular');
      const dx = x - t0;
      const dy = y - t3;
      return { col: (t5 * dx - t2 * dy) / det, row: (-t4 * dx + t1 * dy) / det };
    }
    if (g.kind === 'gcps') {
      const [col, row] = this.gcpTransform!.mapToPixel(x, y);
      return { col, row };
    }
    throw new RasterError(
      this.info.file,
      'the raster has no georeferencing (no geotransform, no GCPs): use pixel positions',
    );
  }

  lonLatToPixel(lon: number, lat: number): { col: number; row: number } {
    const [x, y] = this.requireProjection().forward(lon, lat);
    return this.mapToPixel(x, y);
  }

  pixelToLonLat(col: number, row: number): { lon: number; lat: number } {
    const { x, y } = this.pixelToMap(col, row);
    const [lon, lat] = this.requireProjection().inverse(x, y);
    return { lon, lat };
  }

  private requireProjection(): Projection {
    const g = this.info.georeferencing;
    if (g.kind === 'none')
      throw new RasterError(
        this.info.file,
        'the raster has no georeferencing (no geotransform, no GCPs): use pixel positions',
      );
    if (!this.projection) {
      throw new RasterError(
        this.info.file,
        `lon/lat positions need a supported CRS (EPSG:4326, 3857, UTM 326xx/327xx); this raster's is ${g.epsg === null ? 'unknown' : `EPSG:${g.epsg}`}: give map x/y or pixel positions`,
      );
    }
    return this.projection;
  }

  /** The chip of `size`×`size` pixels centred on a pixel, map or lon/lat position. */
  async chipAround(center: ChipCenter, size: number, opts: ChipOptions = {}): Promise<Chip> {
    checkSize(this.info.file, size);
    const ov = this.overviewOf(opts.overview ?? 0);
    let col: number;
    let row: number;
    if ('col' in center) ({ col, row } = center);
    else {
      const full = 'lon' in center ? this.lonLatToPixel(center.lon, center.lat) : this.mapToPixel(center.x, center.y);
      col = Math.floor(full.col / ov.factor[0]);
      row = Math.floor(full.row / ov.factor[1]);
    }
    if (!Number.isFinite(col) || !Number.isFinite(row))
      throw new RasterError(this.info.file, `chip centre is not a finite position (${col}, ${row})`);
    // Pixel `col` is the centre: an even size puts it just right of / below the middle.
    const col0 = Math.floor(col) - Math.floor(size / 2);
    const row0 = Math.floor(row) - Math.floor(size / 2);
    return this.readChip(col0, row0, size, opts);
  }

  /**
   * Chips on a regular grid (top-left first, row by row). Chips with less than `minValidFraction`
   * valid pixels are skipped; `skipped` in the returned summary counts them.
   */
  async *chipGrid(
    size: number,
    opts: ChipOptions & {
      stride?: number;
      minValidFraction?: number;
      limit?: number;
      onSkip?: (col0: number, row0: number, validFraction: number) => void;
    } = {},
  ): AsyncGenerator<Chip> {
    checkSize(this.info.file, size);
    const stride = opts.stride ?? size;
    if (!Number.isInteger(stride) || stride < 1)
      throw new RasterError(this.info.file, `stride must be a positive integer, got ${stride}`);
    const minValid = opts.minValidFraction ?? 0.5;
    const ov = this.overviewOf(opts.overview ?? 0);
    let yielded = 0;
    for (let row0 = 0; row0 + size <= ov.height; row0 += stride) {
      for (let col0 = 0; col0 + size <= ov.width; col0 += stride) {
        opts.signal?.throwIfAborted();
        const chip = await this.readChip(col0, row0, size, opts);
        if (chip.empty || chip.validFraction < minValid) {
          opts.onSkip?.(col0, row0, chip.validFraction);
          continue;
        }
        yield chip;
        if (opts.limit !== undefined && ++yielded >= opts.limit) return;
      }
    }
  }

  /** A window (top-left `col0,row0`, `size`×`size`), padded with NaN where it leaves the image. */
  async readChip(col0: number, row0: number, size: number, opts: ChipOptions = {}): Promise<Chip> {
    const ovIndex = opts.overview ?? 0;
    const ov = this.overviewOf(ovIndex);
    const image = this.images[ov.image]!;
    const bands = this.bandIndices(opts.bands);
    const nodata = this.info.nodata;
    const out = bands.map(() => new Float32Array(size * size).fill(NaN));
    const x0 = Math.max(0, col0);
    const y0 = Math.max(0, row0);
    const x1 = Math.min(ov.width, col0 + size);
    const y1 = Math.min(ov.height, row0 + size);
    let valid = 0;
    if (x1 > x0 && y1 > y0) {
      this.checkBlocks(image, ov.image, x0, y0, x1, y1);
      let rasters: ArrayLike<number>[];
      try {
        rasters = (await image.readRasters({
          window: [x0, y0, x1, y1],
          samples: bands,
          interleave: false,
          signal: opts.signal,
        })) as unknown as ArrayLike<number>[];
      } catch (err) {
        if (opts.signal?.aborted) throw err;
        throw new RasterError(
          this.info.file,
          `cannot decode window [${x0}, ${y0}, ${x1}, ${y1}] of image ${ov.image}: ${messageOf(err)} (corrupt or truncated file?)`,
          { cause: err },
        );
      }
      const w = x1 - x0;
      const validMask = new Uint8Array(size * size);
      for (let y = y0; y < y1; y++) {
        for (let x = x0; x < x1; x++) {
          const src = (y - y0) * w + (x - x0);
          const dst = (y - row0) * size + (x - col0);
          let ok = 1;
          for (let b = 0; b < bands.length; b++) {
            const v = rasters[b]![src]!;
            if (v === nodata || Number.isNaN(v)) ok = 0;
            else out[b]![dst] = v;
          }
          validMask[dst] = ok;
          valid += ok;
        }
      }
      // A pixel is valid only where every band is: the others become NaN in all bands alike.
      if (valid < (x1 - x0) * (y1 - y0)) {
        for (let i = 0; i < validMask.length; i++) if (!validMask[i]) for (const band of out) band[i] = NaN;
      }
    }
    const validFraction = valid / (size * size);
    let center: Chip['center'] = null;
    if (this.info.georeferencing.kind !== 'none') {
      const { x, y } = this.pixelToMap((col0 + size / 2) * ov.factor[0], (row0 + size / 2) * ov.factor[1]);
      let lon: number | null = null;
      let lat: number | null = null;
      if (this.projection) [lon, lat] = this.projection.inverse(x, y);
      center = { x, y, lon, lat };
    }
    return {
      col0,
      row0,
      size,
      overview: ovIndex,
      bandNames: bands.map((b) => this.info.bands[b]!.name),
      bands: out,
      validFraction,
      empty: valid === 0,
      center,
    };
  }

  private overviewOf(index: number): OverviewInfo {
    const ov = this.info.overviews[index];
    if (!ov)
      throw new RasterError(
        this.info.file,
        `no overview ${index} (the file has ${this.info.overviews.length}, 0 = full resolution)`,
      );
    return ov;
  }

  private bandIndices(sel: (number | string)[] | undefined): number[] {
    if (!sel) return this.info.bands.map((b) => b.index);
    return sel.map((s) => {
      const b =
        typeof s === 'number'
          ? this.info.bands[s]
          : this.info.bands.find((x) => x.name.toLowerCase() === s.toLowerCase());
      if (!b)
        throw new RasterError(
          this.info.file,
          `no band ${JSON.stringify(s)} (bands: ${this.info.bands.map((x) => `${x.index}=${x.name}`).join(', ')})`,
        );
      return b.index;
    });
  }

  /**
   * geotiff.js reports a tile that runs past the end of the file as an opaque decoder error ("SOI not
   * found") or not at all; checking offsets against the file size first gives a clear message.
   */
  private checkBlocks(image: GeoTIFFImage, imageIndex: number, x0: number, y0: number, x1: number, y1: number): void {
    if (this.fileSize === undefined) return;
    const fd = image.getFileDirectory().toObject() as Record<string, unknown>;
    const tiled = fd.TileOffsets !== undefined;
    const offsets = (tiled ? fd.TileOffsets : fd.StripOffsets) as ArrayLike<number> | undefined;
    const counts = (tiled ? fd.TileByteCounts : fd.StripByteCounts) as ArrayLike<number> | undefined;
    if (!offsets || !counts) return;
    const bw = image.getBlockWidth();
    const bh = image.getBlockHeight(0);
    const across = Math.ceil(image.getWidth() / bw);
    const down = Math.ceil(image.getHeight() / bh);
    const planes = fd.PlanarConfiguration === 2 ? image.getSamplesPerPixel() : 1;
    for (let p = 0; p < planes; p++) {
      for (let by = Math.floor(y0 / bh); by <= Math.floor((y1 - 1) / bh); by++) {
        for (let bx = Math.floor(x0 / bw); bx <= Math.floor((x1 - 1) / bw); bx++) {
          const k = p * across * down + by * across + bx;
          const off = Number(offsets[k]);
          const len = Number(counts[k]);
          if (off + len > this.fileSize) {
            throw new RasterError(
              this.info.file,
              `${tiled ? 'tile' : 'strip'} ${k} of image ${imageIndex} (bytes ${off}–${off + len}) runs past the end of the file (${this.fileSize} bytes): the file is truncated or corrupt`,
            );
          }
        }
      }
    }
  }
}

async function closeQuietly(tiff: GeoTIFF): Promise<void> {
  try {
    await tiff.close();
  } catch {
    // closing a half-open file can fail; the error that matters was already raised
  }
}

function checkSize(file: string, size: number): void {
  if (!Number.isInteger(size) || size < 1 || size > 8192)
    throw new RasterError(file, `chip size must be an integer 1..8192, got ${size}`);
}

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

function polarisationFromName(file: string): string | null {
  const m = /(?:^|[-_.])(vv|vh|hh|hv)(?:[-_.]|$)/i.exec(path.basename(file));
  return m ? m[1]!.toUpperCase() : null;
}

async function describe(file: string, images: GeoTIFFImage[]): Promise<RasterInfo> {
  const main = images[0];
  if (!main) throw new RasterError(file, 'the TIFF holds no image');
  const fd = main.getFileDirectory().toObject() as Record<string, unknown>;
  const width = main.getWidth();
  const height = main.getHeight();
  const samples = main.getSamplesPerPixel();
  const bands: BandInfo[] = [];
  const fromName = samples === 1 ? polarisationFromName(file) : null;
  for (let i = 0; i < samples; i++) {
    const md = (await main.getGDALMetadata(i)) as Record<string, string> | null;
    const description = md?.DESCRIPTION?.trim();
    const dataType =
      DATA_TYPES[`${main.getSampleFormat(i)}:${main.getBitsPerSample(i)}`] ??
      `format${main.getSampleFormat(i)}/${main.getBitsPerSample(i)}bit`;
    if (description) bands.push({ index: i, name: description, nameSource: 'gdal-description', dataType });
    else if (fromName) bands.push({ index: i, name: fromName, nameSource: 'filename', dataType });
    else bands.push({ index: i, name: `band_${i + 1}`, nameSource: 'default', dataType });
  }
  const overviews: OverviewInfo[] = [{ image: 0, width, height, factor: [1, 1] }];
  images.forEach((im, i) => {
    if (i === 0) return;
    const sub = Number((im.getFileDirectory().toObject() as Record<string, unknown>).NewSubfileType ?? 0);
    // Bit 0: reduced-resolution copy; bit 2: transparency mask (not an overview of the data).
    if ((sub & 1) === 1 && (sub & 4) === 0)
      overviews.push({
        image: i,
        width: im.getWidth(),
        height: im.getHeight(),
        factor: [width / im.getWidth(), height / im.getHeight()],
      });
  });
  const metadata = ((await main.getGDALMetadata()) ?? {}) as Record<string, string>;
  return {
    file,
    width,
    height,
    bands,
    nodata: main.getGDALNoData(),
    tileWidth: main.getTileWidth(),
    tileHeight: main.getTileHeight(),
    overviews,
    georeferencing: await georeferencingOf(main, fd),
    description:
      typeof fd.ImageDescription === 'string' ? fd.ImageDescription.replace(/\0+$/, '').trim() || null : null,
    metadata,
  };
}

async function georeferencingOf(image: GeoTIFFImage, fd: Record<string, unknown>): Promise<Georeferencing> {
  const keys = (image.getGeoKeys() ?? {}) as Record<string, unknown>;
  const epsgKey = Number(keys.ProjectedCSTypeGeoKey ?? keys.GeographicTypeGeoKey ?? NaN);
  const epsg = Number.isInteger(epsgKey) && epsgKey > 0 && epsgKey !== 32767 ? epsgKey : null;
  const crsName = (
    typeof keys.GTCitationGeoKey === 'string'
      ? keys.GTCitationGeoKey
      : typeof keys.GeogCitationGeoKey === 'string'
        ? keys.GeogCitationGeoKey
        : null
  ) as string | null;
  const lonLat = epsg !== null && projectionFor(epsg) !== undefined;
  const scale = fd.ModelPixelScale as ArrayLike<number> | undefined;
  const matrix = fd.ModelTransformation as ArrayLike<number> | undefined;
  const ties = fd.ModelTiepoint as ArrayLike<number> | undefined;
  let gt: [number, number, number, number, number, number] | undefined;
  if (matrix && matrix.length >= 16) gt = [matrix[3]!, matrix[0]!, matrix[1]!, matrix[7]!, matrix[4]!, matrix[5]!];
  else if (scale && ties && ties.length >= 6) {
    const [i, j, , x, y] = [ties[0]!, ties[1]!, ties[2]!, ties[3]!, ties[4]!];
    gt = [x - i * scale[0]!, scale[0]!, 0, y + j * scale[1]!, 0, -scale[1]!];
  }
  if (gt) {
    // PixelIsPoint: the tiepoint is a pixel centre; shift to the corner convention as GDAL does.
    if (Number(keys.GTRasterTypeGeoKey) === 2) {
      gt[0] -= 0.5 * gt[1] + 0.5 * gt[2];
      gt[3] -= 0.5 * gt[4] + 0.5 * gt[5];
    }
    return { kind: 'affine', geoTransform: gt, epsg, crsName, lonLat };
  }
  if (ties && ties.length >= 18) {
    const gcps: GroundControlPoint[] = [];
    for (let k = 0; k + 5 < ties.length; k += 6)
      gcps.push({ pixel: ties[k]!, line: ties[k + 1]!, x: ties[k + 3]!, y: ties[k + 4]!, z: ties[k + 5]! });
    const fit = fitGcpTransform(gcps);
    return { kind: 'gcps', gcps, epsg, crsName, order: fit.order, rmsPixels: fit.rmsPixels, lonLat };
  }
  return { kind: 'none' };
}

/**
 * Sentinel-1 GRD digital numbers (amplitude) → dB: 10·log10(DN²) = 20·log10(DN), minus the
 * calibration constant when given (σ⁰ = DN² / A², so dB − 20·log10(A)). Zero, negative, NaN and
 * nodata pixels become NaN.
 */
export function amplitudeToDb(
  dn: ArrayLike<number>,
  opts: { nodata?: number | null; calibration?: number } = {},
): Float32Array {
  const out = new Float32Array(dn.length);
  const offset = opts.calibration === undefined ? 0 : 20 * Math.log10(opts.calibration);
  const nodata = opts.nodata ?? null;
  for (let i = 0; i < dn.length; i++) {
    const v = dn[i]!;
    out[i] = v > 0 && v !== nodata ? 20 * Math.log10(v) - offset : NaN;
  }
  return out;
}

/** Linear intensity (σ⁰, γ⁰) → dB: 10·log10(I); non-positive, NaN and nodata pixels become NaN. */
export function intensityToDb(intensity: ArrayLike<number>, opts: { nodata?: number | null } = {}): Float32Array {
  const out = new Float32Array(intensity.length);
  const nodata = opts.nodata ?? null;
  for (let i = 0; i < intensity.length; i++) {
    const v = intensity[i]!;
    out[i] = v > 0 && v !== nodata ? 10 * Math.log10(v) : NaN;
  }
  return out;
}
