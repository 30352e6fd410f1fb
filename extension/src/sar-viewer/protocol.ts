/** Messages between the SAR viewer and its decoding worker (structured-clone friendly). */
import type { Georeferencing } from './georef';
import type { ChannelStats, RenderSpec, ValueScale } from './render';

export interface RasterSource {
  /** URL of the file under Jupyter's `/files/` (range requests). */
  url: string;
  /** The file's path as shown to the user. */
  label: string;
}

export interface BandSummary {
  name: string;
  /** Which source file and which sample in it. */
  source: number;
  sample: number;
  dataType: string;
  nodata: number | null;
}

export interface RasterSummary {
  width: number;
  height: number;
  bands: BandSummary[];
  /** Reduced-resolution copies of the first source, largest first (not counting the full image). */
  overviews: { width: number; height: number }[];
  tileWidth: number;
  tileHeight: number;
  isFloat: boolean;
  georeferencing: Georeferencing;
  /** Text to guess the value scale from (file names, description, band names). */
  hints: string;
  warnings: string[];
  /** Milliseconds spent in each step of opening (module load, header, IFDs, metadata, georeferencing). */
  phases: Record<string, number>;
}

export interface StatsResult {
  scale: ValueScale;
  scaleReason: string;
  bands: ChannelStats[];
  /** Co/cross ratio in dB (co − cross) when a composite pair was given. */
  ratio: ChannelStats | null;
  /** How the statistics were sampled, e.g. "overview 320×210". */
  sampledFrom: string;
}

/** A window of the full-resolution image, in pixels (may reach past the edges). */
export interface PixelWindow {
  col0: number;
  row0: number;
  col1: number;
  row1: number;
}

export interface TileResult {
  /** RGBA, `size × size`, transparent outside the image. */
  rgba: ArrayBuffer;
  size: number;
  /** Which image level was read (0: full resolution, k: k-th overview) and the decode time. */
  level: number;
  decodeMs: number;
  renderMs: number;
  /** True when the samples came from the worker's cache of decoded windows (a re-colour, no read). */
  cached: boolean;
  /** Set when painted with the provisional look (before the image statistics): the scale it guessed. */
  provisional: { scale: ValueScale } | null;
  /** With the worker's first tile only: its HTTP reads so far (requests, KiB, time with one in flight). */
  http: { requests: number; kib: number; busyMs: number } | null;
}

export interface PixelResult {
  /** One raw value per band, in band order. */
  values: number[];
}

export interface PlainReadResult {
  ms: number;
  samples: number;
}

export type WorkerRequest =
  | { id: number; type: 'open'; sources: RasterSource[]; headers: Record<string, string> }
  | {
      id: number;
      type: 'stats';
      scale: ValueScale | 'auto';
      co: number | null;
      cross: number | null;
      percentiles: [number, number];
    }
  | {
      id: number;
      type: 'tile';
      window: PixelWindow;
      size: number;
      spec: RenderSpec;
      /** Paint with the worker's provisional scale and stretch (from the first tile), not the spec's. */
      provisional?: boolean;
    }
  | { id: number; type: 'pixel'; col: number; row: number }
  | { id: number; type: 'plain'; window: PixelWindow; size: number; band: number }
  | { id: number; type: 'cancel'; target: number };

export type WorkerResponse =
  { id: number; ok: true; result: unknown } | { id: number; ok: false; error: string; aborted?: boolean };
