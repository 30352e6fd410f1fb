import * as path from 'node:path';
import { SarOverlay, type FloeMimeBundle, type SarOverlayInput } from '@floe/schema';
import { amplitudeToDb, intensityToDb, RasterFile } from '../ingest/geotiff';
import { encodePng } from '../training/png';
import { escapeHtml, showBundle } from '../training/display';

/**
 * `floe.show.sar(path, { overlays })`: a whole SAR scene from a GeoTIFF/COG with vector overlays, as
 * a MIME bundle — a versioned `application/vnd.floe.sar-scene+json` payload (the path and overlays,
 * for the JupyterLab viewer), a PNG (the co-polarised band in dB from an overview, 2–98 % stretch,
 * overlays drawn in their class colours) and HTML/text fallbacks, so headless runs show it too.
 */

export const SAR_SCENE_MIME = 'application/vnd.floe.sar-scene+json';
export const SAR_SCENE_PAYLOAD_VERSION = { version_major: 1, version_minor: 0 } as const;

export interface ShowSarSceneOptions {
  overlays?: SarOverlayInput[];
  /** Longest side of the PNG in pixels (default 640); the smallest overview at least this big is read. */
  maxSize?: number;
  title?: string;
  display?: boolean;
}

export interface SarScenePayload {
  version_major: number;
  version_minor: number;
  /** Absolute path of the raster (the viewer maps it under the Jupyter root). */
  path: string;
  title: string | null;
  width: number;
  height: number;
  georeferencing: 'affine' | 'gcps' | 'none';
  overlays: SarOverlay[];
  /** Features drawn in the PNG, per overlay (lon/lat ones need a georeferenced raster). */
  drawn: number[];
}

const CLASS_RGB: Record<string, [number, number, number]> = {
  ship: [255, 127, 14],
  iceberg: [0, 229, 255],
  unlabelled: [192, 192, 192],
};
function rgbOf(cls: string | undefined): [number, number, number] {
  return (cls && CLASS_RGB[cls]) || [255, 215, 0];
}

export async function sarSceneBundle(file: string, options: ShowSarSceneOptions = {}): Promise<FloeMimeBundle> {
  const overlays = (options.overlays ?? []).map((o, i) => {
    const parsed = SarOverlay.safeParse(o);
    if (!parsed.success) {
      const issue = parsed.error.issues[0]!;
      throw new Error(`show.sar: overlay ${i} (${o.name ?? 'unnamed'}): ${issue.path.join('.')}: ${issue.message}`);
    }
    return parsed.data;
  });
  const raster = await RasterFile.open(file);
  try {
    const { width: W, height: H } = raster.info;
    const maxSize = Math.max(64, Math.round(options.maxSize ?? 640));
    // The smallest overview that still has maxSize pixels on its longer side, else full resolution.
    let level = 0;
    for (const ov of raster.info.overviews) if (Math.max(ov.width, ov.height) >= maxSize) level = ov.image;
    const ov = level === 0 ? { width: W, height: H } : raster.info.overviews.find((o) => o.image === level)!;
    const side = Math.max(ov.width, ov.height);
    if (side > 4096)
      throw new Error(`show.sar: ${file} is ${W}×${H} without a small enough overview: add overviews (gdaladdo)`);
    const chip = await raster.readChip(0, 0, side, { overview: level, bands: [0] });
    const values = chip.bands[0]!;
    const type = raster.info.bands[0]!.dataType;
    const db = type.startsWith('float')
      ? values.some((v) => v < 0)
        ? values
        : intensityToDb(values, { nodata: raster.info.nodata })
      : amplitudeToDb(values, { nodata: raster.info.nodata });
    // Output size and nearest-neighbour decimation from the overview read.
    const f = Math.max(1, side / maxSize);
    const outW = Math.max(1, Math.round(ov.width / f));
    const outH = Math.max(1, Math.round(ov.height / f));
    const finite = Array.from(db)
      .filter(Number.isFinite)
      .sort((a, b) => a - b);
    const low = finite.length ? finite[Math.floor(0.02 * (finite.length - 1))]! : 0;
    const high = finite.length ? finite[Math.floor(0.98 * (finite.length - 1))]! : 1;
    const rgba = new Uint8Array(outW * outH * 4);
    for (let y = 0; y < outH; y++) {
      for (let x = 0; x < outW; x++) {
        const v = db[Math.floor(y * f) * side + Math.floor(x * f)]!;
        const o = (y * outW + x) * 4;
        if (!Number.isFinite(v)) continue; // transparent nodata
        const g = Math.max(0, Math.min(255, Math.round(((v - low) / (high - low || 1)) * 255)));
        rgba[o] = rgba[o + 1] = rgba[o + 2] = g;
        rgba[o + 3] = 255;
      }
    }
    // Overlay drawing in output pixels (full-resolution pixel × outW / W).
    const sx = outW / W;
    const sy = outH / H;
    const put = (x: number, y: number, [r, g, b]: [number, number, number]): void => {
      const xi = Math.round(x);
      const yi = Math.round(y);
      if (xi < 0 || yi < 0 || xi >= outW || yi >= outH) return;
      rgba.set([r, g, b, 255], (yi * outW + xi) * 4);
    };
    const line = (x0: number, y0: number, x1: number, y1: number, c: [number, number, number]): void => {
      const n = Math.max(1, Math.ceil(Math.hypot(x1 - x0, y1 - y0)));
      for (let k = 0; k <= n; k++) put(x0 + ((x1 - x0) * k) / n, y0 + ((y1 - y0) * k) / n, c);
    };
    const toOut = (overlay: SarOverlay, [a, b]: [number, number]): [number, number] | null => {
      if (overlay.crs === 'pixel') return [a * sx, b * sy];
      try {
        const p = raster.lonLatToPixel(a, b);
        return [p.col * sx, p.row * sy];
      } catch {
        // GCP rasters without a declared CRS carry lon/lat GCPs: map coordinates are lon/lat.
        if (raster.info.georeferencing.kind !== 'gcps' || raster.info.georeferencing.epsg !== null) return null;
        const p = raster.mapToPixel(a, b);
        return [p.col * sx, p.row * sy];
      }
    };
    const drawn = overlays.map((overlay) => {
      if (!overlay.visible) return 0;
      let count = 0;
      for (const feature of overlay.features) {
        const c = rgbOf(feature.properties?.class ?? undefined);
        if (feature.geometry.type === 'Point') {
          const p = toOut(overlay, feature.geometry.coordinates);
          if (!p) continue;
          // A ring of radius 4: visible on any background, the centre pixel left for the data.
          for (let t = 0; t < 32; t++)
            put(p[0] + 4 * Math.cos((t * Math.PI) / 16), p[1] + 4 * Math.sin((t * Math.PI) / 16), c);
          count++;
        } else {
          const ring = feature.geometry.coordinates[0]!.map((q) => toOut(overlay, q));
          if (ring.some((q) => q === null)) continue;
          for (let k = 0; k + 1 < ring.length; k++) line(ring[k]![0], ring[k]![1], ring[k + 1]![0], ring[k + 1]![1], c);
          count++;
        }
      }
      return count;
    });
    const png = encodePng(outW, outH, rgba).toString('base64');
    const payload: SarScenePayload = {
      ...SAR_SCENE_PAYLOAD_VERSION,
      path: path.resolve(file),
      title: options.title ?? null,
      width: W,
      height: H,
      georeferencing: raster.info.georeferencing.kind,
      overlays,
      drawn,
    };
    const name = options.title ?? path.basename(file);
    const overlayText = overlays.length
      ? overlays.map((o, i) => `${o.name}: ${drawn[i]}/${o.features.length} drawn`).join('; ')
      : 'no overlays';
    const caption = `${name}: ${W}×${H} px, ${raster.info.bands[0]!.name} in dB (stretch ${low.toFixed(1)}…${high.toFixed(1)} dB); ${overlayText}`;
    return {
      [SAR_SCENE_MIME]: payload,
      'image/png': png,
      'text/html': `<figure class="floe-sar-scene"><img alt="${escapeHtml(caption)}" src="data:image/png;base64,${png}"/><figcaption>${escapeHtml(caption)}</figcaption></figure>`,
      'text/plain': `SAR scene ${caption}`,
    };
  } finally {
    await raster.close();
  }
}

/** Shows a SAR scene with overlays in the notebook (tslab) and returns its bundle. */
export async function sarScene(file: string, options: ShowSarSceneOptions = {}): Promise<FloeMimeBundle> {
  const bundle = await sarSceneBundle(file, options);
  if (options.display ?? true) showBundle(bundle);
  return bundle;
}
