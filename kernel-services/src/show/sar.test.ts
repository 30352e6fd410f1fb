import { inflateSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { SAR_MIME, sarPatchBundle, type SarPayload } from './sar';

/** A 75 × 75 Statoil-style record: HH brighter in the centre (a target), HV 8 dB below, one NaN pixel. */
function record(): { band_1: number[]; band_2: number[] } {
  const band_1: number[] = [];
  const band_2: number[] = [];
  for (let r = 0; r < 75; r++) {
    for (let c = 0; c < 75; c++) {
      const d = Math.hypot(r - 37, c - 37);
      band_1.push(d < 5 ? -5 : -25 + (r % 5));
      band_2.push(d < 5 ? -13 : -33 + (c % 3));
    }
  }
  band_1[0] = NaN;
  return { band_1, band_2 };
}

/** Decodes the PNG's size and RGBA rows (filter 0 only, as encodePng writes). */
function decodePng(b64: string): { width: number; height: number; rgba: Buffer } {
  const png = Buffer.from(b64, 'base64');
  expect(png.subarray(1, 4).toString()).toBe('PNG');
  const width = png.readUInt32BE(16);
  const height = png.readUInt32BE(20);
  const idat: Buffer[] = [];
  for (let o = 8; o < png.length;) {
    const len = png.readUInt32BE(o);
    if (png.subarray(o + 4, o + 8).toString() === 'IDAT') idat.push(png.subarray(o + 8, o + 8 + len));
    o += len + 12;
  }
  const raw = inflateSync(Buffer.concat(idat));
  const rgba = Buffer.alloc(width * height * 4);
  for (let y = 0; y < height; y++) raw.copy(rgba, y * width * 4, y * (width * 4 + 1) + 1, (y + 1) * (width * 4 + 1));
  return { width, height, rgba };
}

describe('floe.show.sar', () => {
  it('renders HH, HV and the composite of a 75×75 patch in dB with a versioned payload', () => {
    const bundle = sarPatchBundle(record(), { title: 'iceberg 7' });
    const payload = bundle[SAR_MIME] as SarPayload;
    expect(payload.version_major).toBe(1);
    expect(payload.panels).toEqual(['HH (dB)', 'HV (dB)', 'R HH, G HV, B HH/HV']);
    expect(payload.bands[0]!.valid).toBe(75 * 75 - 1);
    expect(payload.bands[0]!.max).toBe(-5);
    expect(payload.bands[1]!.min).toBe(-33);
    const { width, height, rgba } = decodePng(bundle['image/png'] as string);
    expect([width, height]).toEqual([3 * 225 + 2 * 4, 225]);
    const at = (x: number, y: number): number[] => [...rgba.subarray((y * width + x) * 4, (y * width + x) * 4 + 4)];
    // The NaN pixel is transparent; the bright target is white in HH, the background dark.
    expect(at(0, 0)[3]).toBe(0);
    expect(at(37 * 3, 37 * 3)).toEqual([255, 255, 255, 255]);
    expect(at(20 * 3, 20 * 3)[0]).toBeLessThan(200);
    expect(bundle['text/html']).toContain('iceberg 7');
    expect(bundle['text/plain']).toContain('75×75');
  });

  it('converts amplitude digital numbers to dB and names a wrong band size', () => {
    const values = Array.from({ length: 16 }, (_, i) => (i + 1) * 10);
    const bundle = sarPatchBundle({ width: 4, height: 4, bands: [{ name: 'VV', values }] }, { scale: 'amplitude' });
    const payload = bundle[SAR_MIME] as SarPayload;
    expect(payload.bands[0]!.min).toBeCloseTo(20, 6);
    expect(payload.bands[0]!.max).toBeCloseTo(20 * Math.log10(160), 6);
    expect(() => sarPatchBundle({ width: 4, height: 4, bands: [{ name: 'VV', values: [1, 2] }] })).toThrow(
      'band VV has 2 values, expected 4×4 = 16',
    );
  });
});
