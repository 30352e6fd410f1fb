import type { OverlayFeature, SarOverlay } from '@floe/schema';
import type { FeatureStore } from '../feature-store/feature-store';
import { ICEBERG_PATCH_SIZE } from '../ingest/iceberg-schema';

/** Columns a feature group needs for its rows to be drawn as labels on a raster. */
const LABEL_COLUMNS = ['id', 'raster', 'col', 'row', 'is_iceberg'];

/** A 75×75 chip's outline around a labelled pixel, as `commitLabels` cut it (pixel coordinates). */
function chipFootprint(col: number, row: number): [number, number][] {
  const c0 = Math.floor(col) - Math.floor(ICEBERG_PATCH_SIZE / 2);
  const r0 = Math.floor(row) - Math.floor(ICEBERG_PATCH_SIZE / 2);
  const c1 = c0 + ICEBERG_PATCH_SIZE;
  const r1 = r0 + ICEBERG_PATCH_SIZE;
  return [
    [c0, r0],
    [c1, r0],
    [c1, r1],
    [c0, r1],
    [c0, r0],
  ];
}

/**
 * Labels already committed for one raster, from every feature group with the label-chip columns: one
 * overlay of points (styled ship/iceberg) and one of chip footprints per group, in pixel coordinates.
 */
export async function committedLabelOverlays(store: FeatureStore, raster: string): Promise<SarOverlay[]> {
  const overlays: SarOverlay[] = [];
  for (const info of await store.listFeatureGroups()) {
    const names = new Set(info.schema.map((f) => f.name));
    if (!LABEL_COLUMNS.every((c) => names.has(c)) || info.commits === 0) continue;
    const group = await store.getFeatureGroup(info.name, info.version);
    // Lance SQL string literal: single quotes doubled.
    const rows = await group.read({ columns: LABEL_COLUMNS, filter: `raster = '${raster.replace(/'/g, "''")}'` });
    if (rows.length === 0) continue;
    const points: OverlayFeature[] = [];
    const footprints: OverlayFeature[] = [];
    for (const r of rows) {
      const cls = r.is_iceberg === 1 ? 'iceberg' : r.is_iceberg === 0 ? 'ship' : 'unlabelled';
      const col = Number(r.col);
      const row = Number(r.row);
      const properties = { class: cls, label: String(r.id) };
      points.push({ type: 'Feature', geometry: { type: 'Point', coordinates: [col, row] }, properties });
      footprints.push({
        type: 'Feature',
        geometry: { type: 'Polygon', coordinates: [chipFootprint(col, row)] },
        properties,
      });
    }
    const label = `${info.name} v${info.version}`;
    overlays.push({ name: `${label}: labels`, kind: 'labels', crs: 'pixel', visible: true, features: points });
    overlays.push({
      name: `${label}: chip footprints`,
      kind: 'footprints',
      crs: 'pixel',
      visible: true,
      features: footprints,
    });
  }
  return overlays;
}
