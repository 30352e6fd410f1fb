import * as fs from 'node:fs';
import * as path from 'node:path';
import { inflateSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { sar } from './sar';
import { SAR_SCENE_MIME, sarSceneBundle, type SarScenePayload } from './sar-scene';

const repoRoot = path.resolve(__dirname, '../../..');
const dataDir = process.env.FLOE_REAL_DATA ?? path.resolve(repoRoot, '../shared/data');
const GRD_VV = path.join(
  dataDir,
  's1-grd-rio-tiler/S1A_IW_GRDH_1SDV_20180716T004042_20180716T004107_022812_02792A_FD5B/measurement/iw-vv.tiff',
);
const haveData = fs.existsSync(GRD_VV);

/** Width, height and RGBA pixels of an 8-bit RGBA PNG without filters other than the ones encodePng writes. */
function decodePng(b64: string): { width: number; height: number; pixel: (x: number, y: number) => number[] } {
  const buf = Buffer.from(b64, 'base64');
  const width = buf.readUInt32BE(16);
  const height = buf.readUInt32BE(20);
  const idat: Buffer[] = [];
  for (let o = 8; o < buf.length;) {
    const len = buf.readUInt32BE(o);
    if (buf.toString('latin1', o + 4, o + 8) === 'IDAT') idat.push(buf.subarray(o + 8, o + 8 + len));
    o += 12 + len;
  }
  const raw = inflateSync(Buffer.concat(idat));
  const stride = width * 4 + 1;
  expect(raw.every((_, i) => i % stride !== 0 || raw[i] === 0)).toBe(true); // filter 0 on every row
  return { width, height, pixel: (x, y) => Array.from(raw.subarray(y * stride + 1 + x * 4, y * stride + 5 + x * 4)) };
}

describe.skipIf(!haveData)('floe.show.sar(path, { overlays }) on the GCP-only GRD', () => {
  it('draws the scene in dB from an overview with pixel and lon/lat overlays in class colours', async () => {
    const bundle = await sarSceneBundle(GRD_VV, {
      maxSize: 320,
      overlays: [
        {
          name: 'labels',
          kind: 'labels',
          crs: 'pixel',
          features: [
            { type: 'Feature', geometry: { type: 'Point', coordinates: [640, 400] }, properties: { class: 'ship' } },
          ],
        },
        {
          name: 'predictions',
          kind: 'predictions',
          features: [
            {
              type: 'Feature',
              geometry: { type: 'Point', coordinates: [76.9, 10.1] },
              properties: { class: 'iceberg', score: 0.8 },
            },
            // Far outside the scene: placed off the image, not drawn.
            { type: 'Feature', geometry: { type: 'Point', coordinates: [10, 50] }, properties: { class: 'ship' } },
          ],
        },
      ],
    });
    const payload = bundle[SAR_SCENE_MIME] as SarScenePayload;
    expect(payload).toMatchObject({
      version_major: 1,
      width: 1280,
      height: 837,
      georeferencing: 'gcps',
      drawn: [1, 2],
    });
    const png = decodePng(bundle['image/png'] as string);
    expect(png.width).toBe(320);
    expect(png.height).toBe(210); // the 320×210 overview, read as it is
    // The ship ring (radius 4 around 640/4, 400/4) is orange; the image under it is grey.
    expect(png.pixel(160 + 4, 100)).toEqual([255, 127, 14, 255]);
    const [r, g, b, a] = png.pixel(150, 60);
    expect(r).toBe(g);
    expect(g).toBe(b);
    expect(a).toBe(255);
    expect(bundle['text/plain']).toContain('labels: 1/1 drawn; predictions: 2/2 drawn');
    // The same through floe.show.sar with a path (no display outside tslab).
    const again = await sar(GRD_VV, { maxSize: 320, display: false });
    expect((again[SAR_SCENE_MIME] as SarScenePayload).overlays).toEqual([]);
  });

  it('names a bad overlay', async () => {
    await expect(
      sarSceneBundle(GRD_VV, {
        overlays: [{ name: 'bad', features: [{ type: 'Feature', geometry: { type: 'Line' } }] }] as never,
      }),
    ).rejects.toThrow(/overlay 0 \(bad\)/);
  });
});
