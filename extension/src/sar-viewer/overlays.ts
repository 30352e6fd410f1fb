/**
 * Vector overlays on the SAR viewer: GeoJSON points and polygons (labels, chip footprints, model
 * predictions with scores) placed in the viewer's frame — image pixels, lng = column, lat = −row —
 * from pixel or lon/lat coordinates (through the affine transform or the GCP fit), styled by class.
 */
import { SarOverlay, type OverlayFeature } from '@floe/schema';
import type * as Leaflet from 'leaflet';
import { lonLatToPixel, type Georeferencing } from './georef';

/** Colours per class, readable on grey-scale and composite SAR images in light and dark themes. */
export const CLASS_COLORS: Record<string, string> = {
  ship: '#ff7f0e',
  iceberg: '#00e5ff',
  unlabelled: '#c0c0c0',
};
const PALETTE = ['#e377c2', '#bcbd22', '#9467bd', '#2ca02c', '#d62728', '#8c564b'];

export function classColor(cls: string | undefined): string {
  if (!cls) return '#ffd700';
  if (CLASS_COLORS[cls]) return CLASS_COLORS[cls];
  let h = 0;
  for (const ch of cls) h = (h * 31 + ch.charCodeAt(0)) >>> 0;
  return PALETTE[h % PALETTE.length]!;
}

/** A class name safe in a CSS class (for tests and styling): letters, digits and dashes. */
function cssName(cls: string | undefined): string {
  return (cls ?? 'none').toLowerCase().replace(/[^a-z0-9-]/g, '-');
}

/**
 * Overlays from untrusted JSON (a notebook payload, a .geojson file): a Floe overlay object, or a plain
 * GeoJSON FeatureCollection (lon/lat unless it says `"floe:crs": "pixel"`). Features other than points
 * and polygons are skipped and counted.
 */
export function parseOverlay(json: unknown, name: string): { overlay: SarOverlay; skipped: number } {
  let candidate: unknown = json;
  let skipped = 0;
  if (json && typeof json === 'object' && (json as { type?: unknown }).type === 'FeatureCollection') {
    const fc = json as { features?: unknown; 'floe:crs'?: unknown; 'floe:kind'?: unknown };
    const all = Array.isArray(fc.features) ? (fc.features as { geometry?: { type?: string } }[]) : [];
    const kept = all.filter((f) => f?.geometry?.type === 'Point' || f?.geometry?.type === 'Polygon');
    skipped = all.length - kept.length;
    candidate = {
      name,
      kind: fc['floe:kind'] ?? 'other',
      crs: fc['floe:crs'] === 'pixel' ? 'pixel' : 'lonlat',
      features: kept,
    };
  }
  const parsed = SarOverlay.safeParse(candidate);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new Error(`${name}: not an overlay (${issue.path.join('.') || 'body'}: ${issue.message})`);
  }
  return { overlay: parsed.data, skipped };
}

/** The viewer-frame position of one overlay coordinate, or null when it cannot be placed. */
function toLatLng(
  L: typeof Leaflet,
  overlay: SarOverlay,
  geo: Georeferencing,
  [a, b]: [number, number],
): Leaflet.LatLng | null {
  if (overlay.crs === 'pixel') return L.latLng(-b, a);
  const pixel = lonLatToPixel(geo, a, b);
  return pixel ? L.latLng(-pixel[1], pixel[0]) : null;
}

function tooltipText(overlay: SarOverlay, feature: OverlayFeature): string {
  const p = feature.properties ?? {};
  const parts = [p.label ?? '', p.class ?? '', typeof p.score === 'number' ? `score ${p.score.toFixed(2)}` : ''];
  return `${overlay.name}: ${parts.filter(Boolean).join(' · ') || 'feature'}`;
}

/**
 * One Leaflet layer group per overlay, drawn with SVG (one path per feature, classed by kind and class)
 * so features stay crisp and can be found in the DOM. Returns the group and how many features could
 * not be placed (lon/lat on a raster without a usable georeferencing).
 */
export function overlayLayer(
  L: typeof Leaflet,
  overlay: SarOverlay,
  geo: Georeferencing,
  renderer: Leaflet.Renderer,
): { group: Leaflet.FeatureGroup; unplaced: number } {
  const group = L.featureGroup();
  let unplaced = 0;
  for (const feature of overlay.features) {
    const cls = feature.properties?.class;
    const color = classColor(cls);
    const className = `floe-SarOverlay-feature floe-SarOverlay-${overlay.kind} floe-SarOverlay-class-${cssName(cls)}`;
    let layer: Leaflet.Path | null = null;
    if (feature.geometry.type === 'Point') {
      const at = toLatLng(L, overlay, geo, feature.geometry.coordinates);
      if (at) {
        const score = feature.properties?.score;
        layer = L.circleMarker(at, {
          renderer,
          radius:
            overlay.kind === 'predictions' && typeof score === 'number' ? 4 + 6 * Math.max(0, Math.min(1, score)) : 6,
          color,
          weight: 2,
          fillColor: color,
          fillOpacity: overlay.kind === 'predictions' ? 0.15 : 0.5,
          className,
        });
      }
    } else {
      const rings = feature.geometry.coordinates.map((ring) => ring.map((c) => toLatLng(L, overlay, geo, c)));
      if (rings.every((ring) => ring.every((p) => p !== null)))
        layer = L.polygon(rings as Leaflet.LatLng[][], {
          renderer,
          color,
          weight: 2,
          dashArray: overlay.kind === 'footprints' ? '4 3' : undefined,
          fill: overlay.kind !== 'footprints',
          fillOpacity: 0.15,
          className,
        });
    }
    if (!layer) {
      unplaced++;
      continue;
    }
    layer.bindTooltip(tooltipText(overlay, feature), { sticky: true });
    group.addLayer(layer);
  }
  return { group, unplaced };
}
