/**
 * The few map projections the GeoTIFF chipper needs to turn lon/lat into map coordinates: WGS 84
 * geographic (EPSG:4326), Web Mercator (EPSG:3857) and UTM on WGS 84 (EPSG:326xx north, 327xx
 * south). Transverse Mercator uses Krüger's series to n⁴ (Karney 2011): sub-millimetre within a zone.
 */

export interface Projection {
  epsg: number;
  name: string;
  /** lon/lat degrees → map x/y (metres, or degrees for 4326). */
  forward(lon: number, lat: number): [number, number];
  inverse(x: number, y: number): [number, number];
}

const A_WGS84 = 6378137;
const F_WGS84 = 1 / 298.257223563;
const DEG = Math.PI / 180;

const geographic: Projection = {
  epsg: 4326,
  name: 'WGS 84',
  forward: (lon, lat) => [lon, lat],
  inverse: (x, y) => [x, y],
};

const webMercator: Projection = {
  epsg: 3857,
  name: 'WGS 84 / Pseudo-Mercator',
  forward: (lon, lat) => [A_WGS84 * lon * DEG, A_WGS84 * Math.log(Math.tan(Math.PI / 4 + (lat * DEG) / 2))],
  inverse: (x, y) => [x / A_WGS84 / DEG, (2 * Math.atan(Math.exp(y / A_WGS84)) - Math.PI / 2) / DEG],
};

function transverseMercator(
  epsg: number,
  name: string,
  lon0: number,
  k0: number,
  falseEasting: number,
  falseNorthing: number,
): Projection {
  const n = F_WGS84 / (2 - F_WGS84);
  const n2 = n * n;
  const n3 = n2 * n;
  const n4 = n3 * n;
  const A = (A_WGS84 / (1 + n)) * (1 + n2 / 4 + n4 / 64);
  const alpha = [
    n / 2 - (2 * n2) / 3 + (5 * n3) / 16 + (41 * n4) / 180,
    (13 * n2) / 48 - (3 * n3) / 5 + (557 * n4) / 1440,
    (61 * n3) / 240 - (103 * n4) / 140,
    (49561 * n4) / 161280,
  ];
  const beta = [
    n / 2 - (2 * n2) / 3 + (37 * n3) / 96 - n4 / 360,
    n2 / 48 + n3 / 15 - (437 * n4) / 1440,
    (17 * n3) / 480 - (37 * n4) / 840,
    (4397 * n4) / 161280,
  ];
  const delta = [
    2 * n - (2 * n2) / 3 - 2 * n3 + (116 * n4) / 45,
    (7 * n2) / 3 - (8 * n3) / 5 - (227 * n4) / 45,
    (56 * n3) / 15 - (136 * n4) / 35,
    (4279 * n4) / 630,
  ];
  const e2n = (2 * Math.sqrt(n)) / (1 + n);
  return {
    epsg,
    name,
    forward(lon, lat) {
      const phi = lat * DEG;
      const lam = (lon - lon0) * DEG;
      const t = Math.sinh(Math.atanh(Math.sin(phi)) - e2n * Math.atanh(e2n * Math.sin(phi)));
      const xiP = Math.atan2(t, Math.cos(lam));
      const etaP = Math.atanh(Math.sin(lam) / Math.sqrt(1 + t * t));
      let xi = xiP;
      let eta = etaP;
      for (let j = 1; j <= 4; j++) {
        xi += alpha[j - 1]! * Math.sin(2 * j * xiP) * Math.cosh(2 * j * etaP);
        eta += alpha[j - 1]! * Math.cos(2 * j * xiP) * Math.sinh(2 * j * etaP);
      }
      return [falseEasting + k0 * A * eta, falseNorthing + k0 * A * xi];
    },
    inverse(x, y) {
      const xi = (y - falseNorthing) / (k0 * A);
      const eta = (x - falseEasting) / (k0 * A);
      let xiP = xi;
      let etaP = eta;
      for (let j = 1; j <= 4; j++) {
        xiP -= beta[j - 1]! * Math.sin(2 * j * xi) * Math.cosh(2 * j * eta);
        etaP -= beta[j - 1]! * Math.cos(2 * j * xi) * Math.sinh(2 * j * eta);
      }
      const chi = Math.asin(Math.sin(xiP) / Math.cosh(etaP));
      let phi = chi;
      for (let j = 1; j <= 4; j++) phi += delta[j - 1]! * Math.sin(2 * j * chi);
      const lam = Math.atan2(Math.sinh(etaP), Math.cos(xiP));
      return [lon0 + lam / DEG, phi / DEG];
    },
  };
}

/** The projection of an EPSG code, or undefined when this module does not implement it. */
export function projectionFor(epsg: number): Projection | undefined {
  if (epsg === 4326) return geographic;
  if (epsg === 3857 || epsg === 900913) return webMercator;
  const north = epsg >= 32601 && epsg <= 32660;
  const south = epsg >= 32701 && epsg <= 32760;
  if (north || south) {
    const zone = epsg % 100;
    return transverseMercator(
      epsg,
      `WGS 84 / UTM zone ${zone}${north ? 'N' : 'S'}`,
      (zone - 1) * 6 - 180 + 3,
      0.9996,
      500000,
      north ? 0 : 10000000,
    );
  }
  return undefined;
}
