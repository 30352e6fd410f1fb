import { afterEach, describe, expect, it } from 'vitest';
import { SeededRandom } from '../training/random';
import { decodePredictRequest } from './decode';
import { nativeDecoder, nativeDecoderBuilt, useNativeDecoding } from './native-decode';
import type { ServingSignature } from './signature';

const SIG: ServingSignature = {
  inputs: [{ name: 'image', shape: [3, 4, 2], role: 'image' }],
  outputs: [{ name: 'dense', shape: [1] }],
  channels: ['band_1', 'band_2'],
  angleFeature: null,
  preprocessing: null,
  angleNormalization: null,
};

/** A number as JSON text in one of the forms clients write. */
function numberText(r: SeededRandom): string {
  const v = (r.next() - 0.5) * 10 ** Math.floor(r.next() * 12 - 6);
  switch (Math.floor(r.next() * 9)) {
    case 7:
      // Exponents beyond ±22 (read the slow way), down to float32's subnormals.
      return `${(r.next() * 9 + 1).toFixed(Math.floor(r.next() * 6))}e${Math.floor(r.next() * 80 - 45)}`;
    case 8:
      // More than 19 significant digits, in the integer part or the fraction.
      return r.next() < 0.5 ? `${Math.floor(r.next() * 1e6)}${'7'.repeat(18)}` : `0.${'0'.repeat(3)}${'31'.repeat(12)}`;
    case 0:
      return String(v); // shortest double
    case 1:
      return String(Math.fround(v)); // a float32 printed in full, as JSON.stringify of a Float32Array value
    case 2:
      return v.toExponential(Math.floor(r.next() * 12));
    case 3:
      return v.toFixed(Math.floor(r.next() * 9));
    case 4:
      return String(Math.round(v * 1000));
    case 5:
      return r.next() < 0.5 ? '-0' : '0';
    default:
      // Long mantissas, and values next to float32 rounding boundaries.
      return `${v.toPrecision(21)}`.replace('+', '');
  }
}

function body(r: SeededRandom, instances: number, ws: () => string): string {
  const inst = (): string =>
    `[${Array.from(
      { length: 3 },
      () =>
        `${ws()}[${Array.from({ length: 4 }, () => `${ws()}[${ws()}${numberText(r)}${ws()},${ws()}${numberText(r)}${ws()}]`).join(',')}]`,
    ).join(',')}${ws()}]`;
  return `{"instances": [${Array.from({ length: instances }, inst).join(', ')}]}`;
}

function decodeBoth(text: string): { native: Float32Array | string; js: Float32Array | string } {
  const run = (): Float32Array | string => {
    try {
      return decodePredictRequest(text, SIG).values[0]!;
    } catch (err) {
      return (err as Error).message;
    }
  };
  useNativeDecoding(true);
  const native = run();
  useNativeDecoding(false);
  const js = run();
  useNativeDecoding(true);
  return { native, js };
}

const bits = (v: Float32Array | string): number[] | string =>
  typeof v === 'string' ? v : Array.from(new Uint32Array(v.buffer, v.byteOffset, v.length));

describe('native request decoding', () => {
  afterEach(() => void useNativeDecoding(true));

  it('is built by the set-up and loads', () => {
    expect(nativeDecoderBuilt()).toBe(true);
    expect(nativeDecoder()).not.toBeNull();
  });

  it('reads every number to the same float32 bits as the JavaScript decoder, on random bodies', () => {
    const r = new SeededRandom(41);
    const spaces = [' ', '', '\n', '\t', '\r\n  '];
    for (let k = 0; k < 300; k++) {
      const text = body(r, 1 + (k % 3), () => (r.next() < 0.3 ? spaces[Math.floor(r.next() * spaces.length)]! : ''));
      const { native, js } = decodeBoth(text);
      expect(typeof js, text).not.toBe('string');
      expect(bits(native), text).toEqual(bits(js));
    }
  });

  it('reads the numbers next to float32 rounding boundaries as the JavaScript decoder does', () => {
    // Halfway between two float32 neighbours, and a hair either side: the double rounding must match.
    const texts: string[] = [];
    for (const f of [1, 1.5, 3.3e38, 1.1754943508222875e-38, 7.006492321624085e-46, 123.456]) {
      const up = new Float32Array([f]);
      const lo = up[0]!;
      new Uint32Array(up.buffer)[0]! += 1;
      const mid = (lo + up[0]!) / 2;
      texts.push(mid.toPrecision(25), (mid * (1 + 1e-16)).toPrecision(25), (mid * (1 - 1e-16)).toPrecision(25));
    }
    const values = [...texts, ...texts.slice(0, 6)].slice(0, 24);
    const text = `{"instances": [[${[0, 1, 2]
      .map(
        (y) => `[${[0, 1, 2, 3].map((x) => `[${values[(y * 4 + x) * 2]}, ${values[(y * 4 + x) * 2 + 1]}]`).join(',')}]`,
      )
      .join(',')}]]}`;
    const { native, js } = decodeBoth(text);
    expect(typeof js).not.toBe('string');
    expect(bits(native)).toEqual(bits(js));
  });

  it('leaves every bad body to the JavaScript decoder, which answers the same error either way', () => {
    const good =
      '[[[1, 2], [3, 4], [5, 6], [7, 8]], [[1, 2], [3, 4], [5, 6], [7, 8]], [[1, 2], [3, 4], [5, 6], [7, 8]]]';
    const bad = [
      good.replace('[7, 8]]]', '[7, 8]]'), // too few levels closed
      good.replace('[1, 2]', '[1, 2, 9]'), // an inner list too long
      good.replace('[3, 4], ', ''), // a row too short
      good.replace('1, 2', '01, 2'), // a leading zero
      good.replace('1, 2', '1., 2'), // a point without digits
      good.replace('1, 2', '.5, 2'),
      good.replace('1, 2', '+1, 2'),
      good.replace('1, 2', 'NaN, 2'),
      good.replace('1, 2', '-Infinity, 2'),
      good.replace('1, 2', '1e39, 2'), // outside float32
      good.replace('1, 2', '1e999, 2'), // outside double
      good.replace('1, 2', '"1", 2'),
      good.replace('1, 2', 'null, 2'),
      good.replace('1, 2', '1,, 2'),
      good.replace('[7, 8]', '[7, 8],'),
      good.replace('1, 2', '1e, 2'),
      good.replace('1, 2', '0x10, 2'),
      good.slice(0, 40),
    ];
    for (const inst of bad) {
      const { native, js } = decodeBoth(`{"instances": [${inst}]}`);
      expect(typeof js, inst).toBe('string');
      expect(native, inst).toBe(js);
    }
    // Tiny values below the double range read as zero in both.
    const tiny = decodeBoth(`{"instances": [${good.replace('1, 2', '1e-999, -1e-400')}]}`);
    expect(bits(tiny.native)).toEqual(bits(tiny.js));
  });
});
