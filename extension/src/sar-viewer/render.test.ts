import { describe, expect, it } from 'vitest';
import { colormapLut, paint, paintInto, toDisplay, type RenderSpec, type Stretch } from './render';

/** The painter written the plain way (one toDisplay per pixel): what the lookup tables must reproduce. */
function reference(bands: ArrayLike<number>[], nodata: (number | null)[], spec: RenderSpec): Uint8ClampedArray {
  const lvl = (v: number, s: Stretch): number => {
    const t = (v - s.low) / (s.high - s.low);
    return t <= 0 ? 0 : t >= 1 ? 255 : Math.round(t * 255);
  };
  const n = bands[spec.kind === 'single' ? spec.band : spec.co]!.length;
  const out = new Uint8ClampedArray(n * 4);
  for (let i = 0; i < n; i++) {
    if (spec.kind === 'single') {
      const v = toDisplay(bands[spec.band]![i]!, spec.scale, nodata[spec.band] ?? null);
      if (Number.isNaN(v)) continue;
      const l = lvl(v, spec.stretch) * 3;
      const lut = colormapLut(spec.colormap);
      out.set([lut[l]!, lut[l + 1]!, lut[l + 2]!, 255], i * 4);
    } else {
      const c = toDisplay(bands[spec.co]![i]!, spec.scale, nodata[spec.co] ?? null);
      const x = toDisplay(bands[spec.cross]![i]!, spec.scale, nodata[spec.cross] ?? null);
      if (Number.isNaN(c) || Number.isNaN(x)) continue;
      const [r, g, b] = spec.stretches;
      out.set([lvl(c, r), lvl(x, g), lvl(c - x, b), 255], i * 4);
    }
  }
  return out;
}

function seeded(n: number, max: number, seed = 7): number[] {
  const out: number[] = [];
  let s = seed;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out.push(Math.floor((s / 2 ** 32) * max));
  }
  return out;
}

describe('SAR tile painter', () => {
  const n = 4096;
  const vv = Uint16Array.from(seeded(n, 2000));
  const vh = Uint16Array.from(seeded(n, 900, 11));
  vv[5] = 0; // zero amplitude: no dB value, transparent
  vh[9] = 65535;

  it('paints UInt16 amplitude through lookup tables exactly as per pixel, nodata and zeros transparent', () => {
    const spec: RenderSpec = {
      kind: 'single',
      band: 0,
      scale: 'amplitude',
      stretch: { low: 30, high: 62 },
      colormap: 'viridis',
    };
    const out = new Uint8ClampedArray(n * 4);
    paint([vv], [17], spec, out);
    const expected = reference([vv], [17], spec);
    expect(out).toEqual(expected);
    expect(out[5 * 4 + 3]).toBe(0);
    const nodataAt = Array.from(vv).indexOf(17);
    if (nodataAt >= 0) expect(out[nodataAt * 4 + 3]).toBe(0);
  });

  it('paints dual-pol composites (VV, VH, VV/VH) from UInt16 and from float dB bands alike', () => {
    const spec: RenderSpec = {
      kind: 'composite',
      co: 0,
      cross: 1,
      scale: 'amplitude',
      stretches: [
        { low: 35, high: 62 },
        { low: 25, high: 55 },
        { low: -2, high: 15 },
      ],
    };
    const out = new Uint8ClampedArray(n * 4);
    paint([vv, vh], [null, null], spec, out);
    expect(out).toEqual(reference([vv, vh], [null, null], spec));
    // The same values as float dB (scale 'db') paint the same pixels.
    const dbSpec: RenderSpec = { ...spec, scale: 'db' };
    const vvDb = Float32Array.from(vv, (v) => toDisplay(v, 'amplitude', null));
    const vhDb = Float32Array.from(vh, (v) => toDisplay(v, 'amplitude', null));
    const outDb = new Uint8ClampedArray(n * 4);
    paint([vvDb, vhDb], [null, null], dbSpec, outDb);
    expect(outDb).toEqual(reference([vvDb, vhDb], [null, null], dbSpec));
  });

  it('paints a partial block into a larger tile at an offset, leaving the rest transparent', () => {
    const w = 3;
    const h = 2;
    const data = Int16Array.from([-5, 10, 100, 1000, -32768, 32767]);
    const spec: RenderSpec = {
      kind: 'single',
      band: 0,
      scale: 'linear',
      stretch: { low: 0, high: 1000 },
      colormap: 'gray',
    };
    const out = new Uint8ClampedArray(5 * 5 * 4);
    paintInto([data], [-32768], spec, { out, width: w, height: h, stride: 5, x0: 1, y0: 2 });
    const at = (x: number, y: number): number[] => Array.from(out.subarray((y * 5 + x) * 4, (y * 5 + x) * 4 + 4));
    expect(at(0, 0)).toEqual([0, 0, 0, 0]);
    expect(at(1, 2)).toEqual([0, 0, 0, 255]); // −5 → below the stretch
    expect(at(3, 2)).toEqual([26, 26, 26, 255]); // 100 of 0…1000
    expect(at(1, 3)).toEqual([255, 255, 255, 255]);
    expect(at(2, 3)[3]).toBe(0); // nodata
    expect(at(3, 3)).toEqual([255, 255, 255, 255]);
    expect(at(4, 3)).toEqual([0, 0, 0, 0]);
  });
});
