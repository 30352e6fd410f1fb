/**
 * Georeferencing for the viewer: the affine transform of a GeoTIFF, an affine least-squares fit to
 * ground control points (Sentinel-1 GRD carries only GCPs), and map → lon/lat for the CRSs the
 * readout understands (geographic, UTM, Web Mercator). Pure functions: used by the worker and the view.
 */

/** GDAL-order geotransform: x = g0 + col·g1 + row·g2, y = g3 + col·g4 + row·g5 (pixel corners). */
export type GeoTransform = [number, number, number, number, number, number];

export interface GroundControlPoint {
  col: number;
  row: number;
  x: number;
  y: number;
}

export type Georeferencing =
  | { kind: 'affine'; transform: GeoTransform; epsg: number | null }
  | {
      kind: 'gcps';
      /** The affine fitted to the GCPs (pixel → map) and how far the GCPs lie from it. */
      transform: GeoTransform;
      epsg: number | null;
      count: number;
      rmsPixels: number;
    }
  | { kind: 'none' };

/** The geotransform from ModelTransformation, or ModelPixelScale + one ModelTiepoint. */
export function affineFromTags(
  matrix: ArrayLike<number> | undefined,
  scale: ArrayLike<number> | undefined,
  ties: ArrayLike<number> | undefined,
  pixelIsPoint: boolean,
): GeoTransform | null {
  let gt: GeoTransform | null = null;
  if (matrix && matrix.length >= 16) gt = [matrix[3]!, matrix[0]!, matrix[1]!, matrix[7]!, matrix[4]!, matrix[5]!];
  else if (scale && scale.length >= 2 && ties && ties.length >= 6 && ties.length < 12) {
    const [i, j, , x, y] = [ties[0]!, ties[1]!, ties[2]!, ties[3]!, ties[4]!];
    gt = [x - i * scale[0]!, scale[0]!, 0, y + j * scale[1]!, 0, -scale[1]!];
  }
  if (gt && pixelIsPoint) {
    // The tiepoint is a pixel centre: shift to the corner convention, as GDAL does.
    gt[0] -= 0.5 * gt[1] + 0.5 * gt[2];
    gt[3] -= 0.5 * gt[4] + 0.5 * gt[5];
  }
  return gt;
}

/** GCPs from a ModelTiepoint array holding several (I, J, K, X, Y, Z) tiepoints. */
export function gcpsFromTiepoints(ties: ArrayLike<number>): GroundControlPoint[] {
  const gcps: GroundControlPoint[] = [];
  for (let k = 0; k + 5 < ties.length; k += 6)
    gcps.push({ col: ties[k]!, row: ties[k + 1]!, x: ties[k + 3]!, y: ties[k + 4]! });
  return gcps;
}

/** Solves the 3×3 normal equations of a plane fit z ≈ a + b·u + c·v. */
function fitPlane(u: number[], v: number[], z: number[]): [number, number, number] {
  let n = 0,
    su = 0,
    sv = 0,
    suu = 0,
    suv = 0,
    svv = 0,
    sz = 0,
    suz = 0,
    svz = 0;
  for (let i = 0; i < z.length; i++) {
    n++;
    su += u[i]!;
    sv += v[i]!;
    suu += u[i]! * u[i]!;
    suv += u[i]! * v[i]!;
    svv += v[i]! * v[i]!;
    sz += z[i]!;
    suz += u[i]! * z[i]!;
    svz += v[i]! * z[i]!;
  }
  const m = [
    [n, su, sv],
    [su, suu, suv],
    [sv, suv, svv],
  ];
  const r = [sz, suz, svz];
  const det = (a: number[][]): number =>
    a[0]![0]! * (a[1]![1]! * a[2]![2]! - a[1]![2]! * a[2]![1]!) -
    a[0]![1]! * (a[1]![0]! * a[2]![2]! - a[1]![2]! * a[2]![0]!) +
    a[0]![2]! * (a[1]![0]! * a[2]![1]! - a[1]![1]! * a[2]![0]!);
  const d = det(m);
  if (Math.abs(d) < 1e-300) throw new Error('the GCPs are collinear: no affine transform fits them');
  // Cramer's rule: replace one column at a time by the right-hand side.
  const col = (k: number): number => det(m.map((row, i) => row.map((x, j) => (j === k ? r[i]! : x)))) / d;
  return [col(0), col(1), col(2)];
}

/**
 * Least-squares affine pixel → map fitted to the GCPs, and the RMS distance in pixels between each GCP
 * and where the inverse of that affine puts its map position.
 */
export function fitAffineToGcps(gcps: GroundControlPoint[]): { transform: GeoTransform; rmsPixels: number } {
  if (gcps.length < 3) throw new Error(`an affine fit needs at least 3 GCPs, the file has ${gcps.length}`);
  const cols = gcps.map((g) => g.col);
  const rows = gcps.map((g) => g.row);
  const [x0, x1, x2] = fitPlane(
    cols,
    rows,
    gcps.map((g) => g.x),
  );
  const [y0, y1, y2] = fitPlane(
    cols,
    rows,
    gcps.map((g) => g.y),
  );
  const transform: GeoTransform = [x0, x1, x2, y0, y1, y2];
  let sum = 0;
  for (const g of gcps) {
    const [c, r] = mapToPixel(transform, g.x, g.y);
    sum += (c - g.col) ** 2 + (r - g.row) ** 2;
  }
  return { transform, rmsPixels: Math.sqrt(sum / gcps.length) };
}

export function pixelToMap(gt: GeoTransform, col: number, row: number): [number, number] {
  return [gt[0] + col * gt[1] + row * gt[2], gt[3] + col * gt[4] + row * gt[5]];
}

export function mapToPixel(gt: GeoTransform, x: number, y: number): [number, number] {
  const det = gt[1] * gt[5] - gt[2] * gt[4];
  const dx = x - gt[0];
  const dy = y - gt[3];
  return [(dx * gt[5] - dy * gt[2]) / det, (dy * gt[1] - dx * gt[4]) / det];
}

/** Whether the readout can turn this CRS's map coordinates into lon/lat. */
export function lonLatSupported(epsg: number | null): boolean {
  return epsg === null || epsg === 4326 || epsg === 4258 || epsg === 3857 || utmZone(epsg) !== null;
}

function utmZone(epsg: number): { zone: number; south: boolean } | null {
  if (epsg > 32600 && epsg <= 32660) return { zone: epsg - 32600, south: false };
  if (epsg > 32700 && epsg <= 32760) return { zone: epsg - 32700, south: true };
  return null;
}

/**
 * lon/lat (degrees, WGS 84) of map coordinates, or null for a CRS the viewer cannot convert. A GCP
 * CRS without an EPSG code is taken as lon/lat (Sentinel-1 GCPs are).
 */
export function toLonLat(epsg: number | null, x: number, y: number): [number, number] | null {
  if (epsg === null || epsg === 4326 || epsg === 4258) return [x, y];
  if (epsg === 3857) {
    const r = 6378137;
    return [((x / r) * 180) / Math.PI, ((2 * Math.atan(Math.exp(y / r)) - Math.PI / 2) * 180) / Math.PI];
  }
  const utm = utmZone(epsg);
  return utm ? utmToLonLat(x, y, utm.zone, utm.south) : null;
}

/** Inverse transverse Mercator on WGS 84 (Snyder's series), accurate to well under a metre in-zone. */
function utmToLonLat(easting: number, northing: number, zone: number, south: boolean): [number, number] {
  const a = 6378137;
  const f = 1 / 298.257223563;
  const e2 = f * (2 - f);
  const ep2 = e2 / (1 - e2);
  const k0 = 0.9996;
  const x = easting - 500000;
  const y = south ? northing - 10000000 : northing;
  const m = y / k0;
  const mu = m / (a * (1 - e2 / 4 - (3 * e2 * e2) / 64 - (5 * e2 ** 3) / 256));
  const e1 = (1 - Math.sqrt(1 - e2)) / (1 + Math.sqrt(1 - e2));
  const phi1 =
    mu +
    ((3 * e1) / 2 - (27 * e1 ** 3) / 32) * Math.sin(2 * mu) +
    ((21 * e1 * e1) / 16 - (55 * e1 ** 4) / 32) * Math.sin(4 * mu) +
    ((151 * e1 ** 3) / 96) * Math.sin(6 * mu) +
    ((1097 * e1 ** 4) / 512) * Math.sin(8 * mu);
  const sin1 = Math.sin(phi1);
  const cos1 = Math.cos(phi1);
  const tan1 = Math.tan(phi1);
  const n1 = a / Math.sqrt(1 - e2 * sin1 * sin1);
  const t1 = tan1 * tan1;
  const c1 = ep2 * cos1 * cos1;
  const r1 = (a * (1 - e2)) / (1 - e2 * sin1 * sin1) ** 1.5;
  const d = x / (n1 * k0);
  const lat =
    phi1 -
    ((n1 * tan1) / r1) *
      ((d * d) / 2 -
        ((5 + 3 * t1 + 10 * c1 - 4 * c1 * c1 - 9 * ep2) * d ** 4) / 24 +
        ((61 + 90 * t1 + 298 * c1 + 45 * t1 * t1 - 252 * ep2 - 3 * c1 * c1) * d ** 6) / 720);
  const lon =
    (d -
      ((1 + 2 * t1 + c1) * d ** 3) / 6 +
      ((5 - 2 * c1 + 28 * t1 - 3 * c1 * c1 + 8 * ep2 + 24 * t1 * t1) * d ** 5) / 120) /
    cos1;
  return [(zone - 1) * 6 - 180 + 3 + (lon * 180) / Math.PI, (lat * 180) / Math.PI];
}

/** Great-circle distance in metres (haversine, mean Earth radius). */
export function distanceMetres(a: [number, number], b: [number, number]): number {
  const rad = Math.PI / 180;
  const dLat = (b[1] - a[1]) * rad;
  const dLon = (b[0] - a[0]) * rad;
  const h = Math.sin(dLat / 2) ** 2 + Math.cos(a[1] * rad) * Math.cos(b[1] * rad) * Math.sin(dLon / 2) ** 2;
  return 2 * 6371008.8 * Math.asin(Math.min(1, Math.sqrt(h)));
}

/** Ground size of one pixel (metres, along columns) near the image centre, or null without lon/lat. */
export function pixelSizeMetres(geo: Georeferencing, width: number, height: number): number | null {
  if (geo.kind === 'none') return null;
  const cx = width / 2;
  const cy = height / 2;
  const a = pixelToMap(geo.transform, cx, cy);
  const b = pixelToMap(geo.transform, cx + 1, cy);
  const la = toLonLat(geo.epsg, a[0], a[1]);
  const lb = toLonLat(geo.epsg, b[0], b[1]);
  return la && lb ? distanceMetres(la, lb) : null;
}

/**
 * Full-resolution pixel (column, row; continuous, pixel (c, r) spans [c, c+1)) of a lon/lat position,
 * through the raster's affine or GCP fit; null without georeferencing or for a CRS the viewer cannot convert.
 * Projected CRSs are inverted numerically (Newton steps on `toLonLat`), so one inverse serves them all.
 */
export function lonLatToPixel(geo: Georeferencing, lon: number, lat: number): [number, number] | null {
  if (geo.kind === 'none' || !lonLatSupported(geo.epsg)) return null;
  if (geo.epsg === null || geo.epsg === 4326 || geo.epsg === 4258) return mapToPixel(geo.transform, lon, lat);
  let [x, y] = pixelToMap(geo.transform, 0, 0);
  for (let i = 0; i < 20; i++) {
    const here = toLonLat(geo.epsg, x, y);
    if (!here) return null;
    const h = 1; // one map unit (a metre) for the finite-difference Jacobian
    const dx = toLonLat(geo.epsg, x + h, y)!;
    const dy = toLonLat(geo.epsg, x, y + h)!;
    const a = (dx[0] - here[0]) / h;
    const b = (dy[0] - here[0]) / h;
    const c = (dx[1] - here[1]) / h;
    const d = (dy[1] - here[1]) / h;
    const det = a * d - b * c;
    if (det === 0) return null;
    const eLon = lon - here[0];
    const eLat = lat - here[1];
    const stepX = (d * eLon - b * eLat) / det;
    const stepY = (a * eLat - c * eLon) / det;
    x += stepX;
    y += stepY;
    if (Math.abs(stepX) < 1e-4 && Math.abs(stepY) < 1e-4) break;
  }
  return mapToPixel(geo.transform, x, y);
}
