/**
 * Georeferencing from ground control points (Sentinel-1 GRD GeoTIFFs carry only GCPs): least-squares
 * polynomials pixel/line → x/y and, fitted separately, x/y → pixel/line, as GDAL's GCP transformer
 * does (order 2 from 10 GCPs up, else order 1, unless asked).
 */

export interface GroundControlPoint {
  /** Pixel (column) and line (row) in image coordinates (pixel corner convention, as in the file). */
  pixel: number;
  line: number;
  /** Map coordinates in the GCP CRS (lon/lat for EPSG:4326) and height if given. */
  x: number;
  y: number;
  z?: number;
}

/** A 2-D polynomial in normalised coordinates: terms 1, u, v, u², uv, v², u³, u²v, uv², v³ (up to order). */
export class Polynomial2D {
  constructor(
    readonly order: 1 | 2 | 3,
    private readonly shift: [number, number],
    private readonly scale: [number, number],
    private readonly cx: Float64Array,
    private readonly cy: Float64Array,
  ) {}

  static terms(order: 1 | 2 | 3): number {
    return order === 1 ? 3 : order === 2 ? 6 : 10;
  }

  private static basis(order: 1 | 2 | 3, u: number, v: number, out: Float64Array): void {
    out[0] = 1;
    out[1] = u;
    out[2] = v;
    if (order >= 2) {
      out[3] = u * u;
      out[4] = u * v;
      out[5] = v * v;
    }
    if (order === 3) {
      out[6] = u * u * u;
      out[7] = u * u * v;
      out[8] = u * v * v;
      out[9] = v * v * v;
    }
  }

  /** Least-squares fit of (a, b) → (x, y). */
  static fit(order: 1 | 2 | 3, from: [number, number][], to: [number, number][]): Polynomial2D {
    const m = Polynomial2D.terms(order);
    if (from.length < m)
      throw new Error(`a polynomial of order ${order} needs at least ${m} points, got ${from.length}`);
    const mean = (k: 0 | 1): number => from.reduce((s, p) => s + p[k], 0) / from.length;
    const shift: [number, number] = [mean(0), mean(1)];
    const spread = (k: 0 | 1): number => Math.max(1e-12, Math.max(...from.map((p) => Math.abs(p[k] - shift[k]))));
    const scale: [number, number] = [spread(0), spread(1)];
    const ata = new Float64Array(m * m);
    const atx = new Float64Array(m);
    const aty = new Float64Array(m);
    const row = new Float64Array(m);
    from.forEach(([a, b], i) => {
      Polynomial2D.basis(order, (a - shift[0]) / scale[0], (b - shift[1]) / scale[1], row);
      for (let r = 0; r < m; r++) {
        atx[r]! += row[r]! * to[i]![0];
        aty[r]! += row[r]! * to[i]![1];
        for (let c = 0; c < m; c++) ata[r * m + c]! += row[r]! * row[c]!;
      }
    });
    return new Polynomial2D(order, shift, scale, solve(ata, atx, m), solve(ata, aty, m));
  }

  apply(a: number, b: number): [number, number] {
    const m = Polynomial2D.terms(this.order);
    const row = new Float64Array(m);
    Polynomial2D.basis(this.order, (a - this.shift[0]) / this.scale[0], (b - this.shift[1]) / this.scale[1], row);
    let x = 0;
    let y = 0;
    for (let i = 0; i < m; i++) {
      x += this.cx[i]! * row[i]!;
      y += this.cy[i]! * row[i]!;
    }
    return [x, y];
  }
}

/** Gaussian elimination with partial pivoting on a copy of the normal equations. */
function solve(aIn: Float64Array, bIn: Float64Array, m: number): Float64Array {
  const a = Float64Array.from(aIn);
  const b = Float64Array.from(bIn);
  for (let col = 0; col < m; col++) {
    let piv = col;
    for (let r = col + 1; r < m; r++) if (Math.abs(a[r * m + col]!) > Math.abs(a[piv * m + col]!)) piv = r;
    if (Math.abs(a[piv * m + col]!) < 1e-12)
      throw new Error('ground control points are degenerate (collinear or repeated): cannot fit a polynomial');
    if (piv !== col) {
      for (let c = 0; c < m; c++) [a[col * m + c], a[piv * m + c]] = [a[piv * m + c]!, a[col * m + c]!];
      [b[col], b[piv]] = [b[piv]!, b[col]!];
    }
    for (let r = col + 1; r < m; r++) {
      const f = a[r * m + col]! / a[col * m + col]!;
      if (f === 0) continue;
      for (let c = col; c < m; c++) a[r * m + c]! -= f * a[col * m + c]!;
      b[r]! -= f * b[col]!;
    }
  }
  const x = new Float64Array(m);
  for (let r = m - 1; r >= 0; r--) {
    let s = b[r]!;
    for (let c = r + 1; c < m; c++) s -= a[r * m + c]! * x[c]!;
    x[r] = s / a[r * m + r]!;
  }
  return x;
}

export interface GcpTransform {
  order: 1 | 2 | 3;
  gcps: number;
  /** RMS of the forward fit's residuals at the GCPs, in map units (degrees for EPSG:4326). */
  rmsMap: number;
  /** RMS of the inverse fit's residuals at the GCPs, in pixels. */
  rmsPixels: number;
  pixelToMap(pixel: number, line: number): [number, number];
  mapToPixel(x: number, y: number): [number, number];
}

/** Fits forward and inverse polynomials to GCPs; order defaults to GDAL's choice (2 from 10 GCPs). */
export function fitGcpTransform(gcps: GroundControlPoint[], order?: 1 | 2 | 3): GcpTransform {
  const o = order ?? (gcps.length >= 10 ? 2 : 1);
  const img: [number, number][] = gcps.map((g) => [g.pixel, g.line]);
  const map: [number, number][] = gcps.map((g) => [g.x, g.y]);
  const forward = Polynomial2D.fit(o, img, map);
  const inverse = Polynomial2D.fit(o, map, img);
  const rms = (pred: [number, number][], truth: [number, number][]): number =>
    Math.sqrt(pred.reduce((s, p, i) => s + (p[0] - truth[i]![0]) ** 2 + (p[1] - truth[i]![1]) ** 2, 0) / pred.length);
  return {
    order: o,
    gcps: gcps.length,
    rmsMap: rms(
      img.map(([a, b]) => forward.apply(a, b)),
      map,
    ),
    rmsPixels: rms(
      map.map(([a, b]) => inverse.apply(a, b)),
      img,
    ),
    pixelToMap: (p, l) => forward.apply(p, l),
    mapToPixel: (x, y) => inverse.apply(x, y),
  };
}
