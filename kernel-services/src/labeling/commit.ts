import * as fs from 'node:fs';
import * as path from 'node:path';
import {
  CommitLabelsRequest,
  FeatureSchema,
  type CommitLabelsRequestParsed,
  type CommitLabelsResponse,
  type CommittedChip,
  type FeatureRow,
} from '@floe/schema';
import { FeatureGroupNotFoundError } from '../feature-store/errors';
import type { FeatureGroup } from '../feature-store/feature-group';
import type { FeatureStore } from '../feature-store/feature-store';
import { amplitudeToDb, intensityToDb, RasterFile, type Chip } from '../ingest/geotiff';
import { ICEBERG_PATCH_SIZE, ICEBERG_SCHEMA } from '../ingest/iceberg-schema';

/**
 * Labels placed on a Sentinel-1 raster (in the SAR viewer or from a notebook) become rows of a feature
 * group: a 75×75 chip of each polarisation around every point, in dB, in the iceberg schema (so the
 * tutorial's models train on them), plus where the chip came from and who labelled it. One insert, so
 * one numbered commit with statistics and validation, or nothing.
 */

/** Raised for a request that cannot be committed as given (bad path, point off the image, no data). */
export class LabelCommitError extends Error {
  override readonly name = 'LabelCommitError';
  constructor(
    message: string,
    /** `forbidden`: the path leaves the allowed roots; `missing`: no such file; `invalid`: anything else. */
    readonly reason: 'forbidden' | 'missing' | 'invalid' = 'invalid',
  ) {
    super(message);
  }
}

/** The iceberg schema plus the chip's provenance: raster, pixel, lon/lat, who and when. */
export const LABEL_CHIP_SCHEMA: FeatureSchema = FeatureSchema.parse([
  ...ICEBERG_SCHEMA,
  { name: 'raster', kind: 'scalar', dtype: 'string', description: 'raster file the chip was cut from' },
  { name: 'col', kind: 'scalar', dtype: 'float64', description: 'labelled pixel column (full resolution)' },
  { name: 'row', kind: 'scalar', dtype: 'float64', description: 'labelled pixel row (full resolution)' },
  {
    name: 'lon',
    kind: 'scalar',
    dtype: 'float64',
    nullable: true,
    description: 'longitude of the point (approx. for GCPs)',
  },
  { name: 'lat', kind: 'scalar', dtype: 'float64', nullable: true, description: 'latitude of the point' },
  { name: 'valid_fraction', kind: 'scalar', dtype: 'float32', description: 'share of chip pixels with data' },
  { name: 'labelled_by', kind: 'scalar', dtype: 'string', description: 'who placed the label' },
  { name: 'labelled_at', kind: 'scalar', dtype: 'timestamp', description: 'when the labels were committed' },
]);

/** A chip with less valid data than this (image edge, nodata border) is refused, naming the label. */
export const MIN_VALID_FRACTION = 0.5;

/**
 * Where rasters may be read from: the Jupyter server's root (the viewer's paths are relative to it;
 * `FLOE_FILES_ROOT`, else the hub's working directory, which jupyter-server-proxy inherits from the
 * server) and the real-data folder `FLOE_REAL_DATA` when set.
 */
export function defaultRasterRoots(env: NodeJS.ProcessEnv = process.env): string[] {
  const roots = [env.FLOE_FILES_ROOT || process.cwd()];
  if (env.FLOE_REAL_DATA) roots.push(env.FLOE_REAL_DATA);
  return roots;
}

function inside(root: string, file: string): boolean {
  const rel = path.relative(root, file);
  return rel === '' || (!rel.startsWith('..') && !path.isAbsolute(rel));
}

/**
 * A raster path resolved against the first root, after following symlinks, and only if it stays inside
 * one of the roots: `../../etc/passwd`, an absolute path elsewhere or a symlink leading out are refused.
 */
export function resolveRasterPath(given: string, roots: readonly string[]): string {
  if (roots.length === 0) throw new LabelCommitError('no raster roots are configured', 'forbidden');
  const candidate = path.resolve(roots[0]!, given);
  const realRoots = roots.flatMap((r) => {
    try {
      return [fs.realpathSync(r)];
    } catch {
      return [];
    }
  });
  // The lexical check first, so a path outside the roots is refused whether or not it exists.
  if (!roots.some((r) => inside(path.resolve(r), candidate)) && !realRoots.some((r) => inside(r, candidate))) {
    throw new LabelCommitError(`raster path ${JSON.stringify(given)} is outside the allowed folders`, 'forbidden');
  }
  let real: string;
  try {
    real = fs.realpathSync(candidate);
  } catch {
    throw new LabelCommitError(`raster ${JSON.stringify(given)} does not exist`, 'missing');
  }
  if (!realRoots.some((r) => inside(r, real))) {
    throw new LabelCommitError(
      `raster path ${JSON.stringify(given)} leads outside the allowed folders (through a symlink)`,
      'forbidden',
    );
  }
  if (!fs.statSync(real).isFile()) throw new LabelCommitError(`raster ${JSON.stringify(given)} is not a file`);
  return real;
}

/** iw-vv.tiff ↔ iw-vh.tiff (null when the name carries no polarisation). */
export function crossPolPartner(file: string): string | null {
  const name = path.basename(file);
  const m = /(^|[^a-z])(vv|hh)(?=[^a-z]|$)/i.exec(name);
  if (!m) return null;
  const pol = m[2]!;
  let other = pol.toLowerCase() === 'vv' ? 'vh' : 'hv';
  if (pol === pol.toUpperCase()) other = other.toUpperCase();
  const at = m.index + m[1]!.length;
  return path.join(path.dirname(file), name.slice(0, at) + other + name.slice(at + pol.length));
}

/** Digital numbers of integer rasters are amplitude (Sentinel-1 GRD); float rasters are taken as dB unless they hold linear power. */
function chipToDb(raster: RasterFile, chip: Chip, band: number): Float32Array {
  const values = chip.bands[band]!;
  const type = raster.info.bands[0]!.dataType;
  if (!type.startsWith('float')) return amplitudeToDb(values, { nodata: raster.info.nodata });
  let min = Infinity;
  for (const v of values) if (Number.isFinite(v) && v < min) min = v;
  // dB backscatter of sea and ice is mostly negative; a linear σ⁰ raster never is.
  return min >= 0 && !/db/i.test(`${raster.info.description ?? ''} ${raster.info.file}`)
    ? intensityToDb(values, { nodata: raster.info.nodata })
    : values;
}

/** Replaces NaN with the median of the finite values, in place. */
function fillNodata(values: Float32Array): void {
  const finite = Array.from(values)
    .filter(Number.isFinite)
    .sort((a, b) => a - b);
  if (finite.length === values.length || finite.length === 0) return;
  const median = finite[Math.floor(finite.length / 2)]!;
  for (let k = 0; k < values.length; k++) if (!Number.isFinite(values[k]!)) values[k] = median;
}

export interface CommitLabelsOptions {
  /** Folders rasters may come from (default `defaultRasterRoots()`); relative paths resolve against the first. */
  roots?: readonly string[];
  /** Time stamped on the rows (default now). */
  now?: Date;
}

async function labelGroup(store: FeatureStore, name: string): Promise<FeatureGroup> {
  try {
    return await store.getFeatureGroup(name);
  } catch (err) {
    if (!(err instanceof FeatureGroupNotFoundError)) throw err;
    return store.createFeatureGroup({
      name,
      description: 'Point labels placed on Sentinel-1 rasters, as 75×75 chips (band_1 co-pol, band_2 cross-pol, dB)',
      schema: LABEL_CHIP_SCHEMA,
      primaryKey: 'id',
      eventTime: 'labelled_at',
    });
  }
}

/**
 * Cuts a 75×75 chip of both polarisations around each labelled point and inserts them into the
 * feature group as one commit (the group is created with `LABEL_CHIP_SCHEMA` when it does not exist).
 * The request is checked with the contract schema first; any bad label fails the whole commit.
 */
export async function commitLabels(
  store: FeatureStore,
  request: unknown,
  options: CommitLabelsOptions = {},
): Promise<CommitLabelsResponse> {
  const parsed = CommitLabelsRequest.safeParse(request);
  if (!parsed.success) {
    const issues = parsed.error.issues.map((i) => `${i.path.join('.') || '(body)'}: ${i.message}`).join('; ');
    throw new LabelCommitError(`bad label commit: ${issues}`);
  }
  const req: CommitLabelsRequestParsed = parsed.data;
  const roots = options.roots ?? defaultRasterRoots();
  const coPath = resolveRasterPath(req.raster, roots);
  const co = await RasterFile.open(coPath, { name: req.raster });
  let cross: RasterFile | null = null;
  try {
    let crossGiven: string | null = req.crossPolRaster ?? null;
    if (!crossGiven && co.info.bands.length < 2) {
      const partner = crossPolPartner(req.raster);
      if (partner && fs.existsSync(path.resolve(roots[0]!, partner))) crossGiven = partner;
    }
    if (co.info.bands.length < 2 && !crossGiven) {
      throw new LabelCommitError(
        `${req.raster} holds one band and no cross-polarised file was given or found beside it (e.g. iw-vv.tiff ↔ iw-vh.tiff): chips need both polarisations`,
      );
    }
    if (crossGiven) {
      cross = await RasterFile.open(resolveRasterPath(crossGiven, roots), { name: crossGiven });
      if (cross.info.width !== co.info.width || cross.info.height !== co.info.height) {
        throw new LabelCommitError(
          `${crossGiven} is ${cross.info.width}×${cross.info.height} but ${req.raster} is ${co.info.width}×${co.info.height}: the polarisations must share one pixel grid`,
        );
      }
    }
    const now = options.now ?? new Date();
    const base = path.basename(req.raster);
    const rows: FeatureRow[] = [];
    const chips: CommittedChip[] = [];
    for (const [i, label] of req.labels.entries()) {
      const where = `label ${i}${label.id ? ` (${label.id})` : ''} at col ${label.col}, row ${label.row}`;
      if (label.col >= co.info.width || label.row >= co.info.height) {
        throw new LabelCommitError(`${where} is outside ${req.raster} (${co.info.width}×${co.info.height} pixels)`);
      }
      const center = { col: label.col, row: label.row };
      const coChip = await co.chipAround(center, ICEBERG_PATCH_SIZE, { bands: [0] });
      const crossChip = cross
        ? await cross.chipAround(center, ICEBERG_PATCH_SIZE, { bands: [0] })
        : await co.chipAround(center, ICEBERG_PATCH_SIZE, { bands: [1] });
      const band1 = chipToDb(co, coChip, 0);
      const band2 = chipToDb(cross ?? co, crossChip, 0);
      let valid = 0;
      for (let k = 0; k < band1.length; k++) if (Number.isFinite(band1[k]!) && Number.isFinite(band2[k]!)) valid++;
      const validFraction = valid / band1.length;
      if (validFraction < MIN_VALID_FRACTION) {
        throw new LabelCommitError(
          `${where}: only ${(validFraction * 100).toFixed(0)} % of its 75×75 chip holds data (edge of the image or nodata; at least ${MIN_VALID_FRACTION * 100} % needed)`,
        );
      }
      // The feature store keeps tensors free of NaN: nodata pixels (image edge, border) take the median of
      // the chip's valid pixels, a neutral background; valid_fraction records how much was filled.
      fillNodata(band1);
      fillNodata(band2);
      let lonLat: { lon: number; lat: number } | null = null;
      if (co.info.georeferencing.kind !== 'none' && co.info.georeferencing.lonLat) {
        lonLat = co.pixelToLonLat(label.col, label.row);
      } else if (co.info.georeferencing.kind === 'gcps' && co.info.georeferencing.epsg === null) {
        // Sentinel-1 GCPs without a declared CRS are lon/lat.
        const { x, y } = co.pixelToMap(label.col, label.row);
        lonLat = { lon: x, lat: y };
      }
      const id = label.id ?? `${base}:r${Math.floor(label.row)}:c${Math.floor(label.col)}`;
      rows.push({
        id,
        band_1: band1,
        band_2: band2,
        inc_angle: null,
        is_iceberg: label.class === 'iceberg' ? 1 : 0,
        raster: req.raster,
        col: label.col,
        row: label.row,
        lon: lonLat?.lon ?? null,
        lat: lonLat?.lat ?? null,
        valid_fraction: validFraction,
        labelled_by: req.labelledBy,
        labelled_at: now,
      });
      chips.push({
        id,
        class: label.class,
        col0: coChip.col0,
        row0: coChip.row0,
        validFraction,
        lon: lonLat?.lon ?? null,
        lat: lonLat?.lat ?? null,
      });
    }
    const group = await labelGroup(store, req.featureGroup);
    const commit = await group.insert(rows);
    return {
      featureGroup: { name: group.name, version: group.version },
      commit: {
        number: commit.number,
        rowsInserted: commit.rowsInserted,
        rowsRejected: commit.rowsRejected,
        totalRows: commit.totalRows,
        committedAt: commit.committedAt.toISOString(),
      },
      rasters: cross ? [req.raster, cross.info.file] : [req.raster],
      chips,
    };
  } finally {
    await co.close();
    await cross?.close();
  }
}
