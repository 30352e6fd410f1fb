import { describe, expect, it } from 'vitest';
import { SeededRandom } from '../training/random';
import { decodePredictRequest, encodePredictResponse } from './decode';
import { ServingError } from './errors';
import { parseJsonFloat32 } from './json-number';
import type { ServingSignature } from './signature';

/** A small image signature ([2, 3, 2] per instance) and its two-input variant with an angle. */
const IMAGE: ServingSignature = {
  inputs: [{ name: 'image', shape: [2, 3, 2], role: 'image' }],
  outputs: [{ name: 'dense', shape: [1] }],
  channels: ['band_1', 'band_2'],
  angleFeature: null,
  preprocessing: null,
  angleNormalization: null,
};
const WITH_ANGLE: ServingSignature = {
  ...IMAGE,
  inputs: [...IMAGE.inputs, { name: 'inc_angle', shape: [], role: 'angle' }],
  angleFeature: 'inc_angle',
  angleNormalization: { mean: 39, std: 4 },
};
const SIZE = 12;

/** Instance `i` of a request: values 100·i + k, nested [2][3][2]. */
function patch(i: number, at = (k: number): number => 100 * i + k): number[][][] {
  return [0, 1].map((y) => [0, 1, 2].map((x) => [at((y * 3 + x) * 2), at((y * 3 + x) * 2 + 1)]));
}

function flat(...instances: number[][][][]): Float32Array {
  return new Float32Array(instances.flatMap((p) => p.flat(2)));
}

function decodeError(body: string, sig = IMAGE): string {
  try {
    decodePredictRequest(body, sig);
  } catch (err) {
    expect(err).toBeInstanceOf(ServingError);
    expect((err as ServingError).status).toBe(400);
    return (err as Error).message;
  }
  throw new Error(`expected ${body.slice(0, 80)} to be refused`);
}

function b64(values: Float32Array): string {
  return Buffer.from(values.buffer, values.byteOffset, values.byteLength).toString('base64');
}

describe('JSON numbers into float32', () => {
  const reference = (text: string): number => Math.fround(Number(text));
  const same = (text: string): void => {
    const got = parseJsonFloat32(text);
    if (!Object.is(got, reference(text))) throw new Error(`${text}: got ${got}, Number() gives ${reference(text)}`);
  };

  it('gives what Math.fround(Number(text)) gives on edge cases', () => {
    const cases = [
      '0',
      '-0',
      '0.0',
      '-0.000',
      '0e10',
      '1',
      '-1',
      '9',
      '10',
      '0.1',
      '-15.193900108337402',
      '1e22',
      '1e23',
      '1e-22',
      '1e-23',
      '9007199254740991',
      '9007199254740993',
      '18446744073709551615',
      '123456789012345678901234567890',
      '0.000000000000000000000000000001234',
      '1.00000000000000000000000000000000000000000000001',
      '3.4028234663852886e38', // the largest float32
      '3.4028235677973366e38', // the first value that rounds to Infinity
      '3.4028235677973362e38',
      '1.1754943508222875e-38', // the smallest normal float32
      '1.401298464324817e-45', // the smallest subnormal
      '7.006492321624085e-46', // half of it: ties to even, 0
      '7.006492321624087e-46',
      '1e-50',
      '1e400',
      '-1e400',
      '2.5E+3',
      '2.5e-3',
      '16777217', // 2^24 + 1: a float32 tie
      '16777219',
      '0.30000001192092896',
    ];
    for (const text of cases) same(text);
  });

  it('rounds values at float32 rounding boundaries exactly (ties and one double ulp either side)', () => {
    const rng = new SeededRandom(5);
    const f32 = new Float32Array(2);
    const u32 = new Uint32Array(f32.buffer);
    const f64 = new Float64Array(1);
    const u64 = new BigUint64Array(f64.buffer);
    for (let n = 0; n < 3000; n++) {
      f32[0] = (rng.next() - 0.5) * 10 ** Math.floor(rng.next() * 20 - 10);
      u32[1] = u32[0]! + 1; // the next float32 up in magnitude
      const mid = (f32[0]! + f32[1]!) / 2; // exact in a double
      f64[0] = mid;
      const bits = u64[0]!;
      for (const delta of [0n, 1n, -1n]) {
        u64[0] = bits + delta;
        const v = f64[0]!;
        same(String(v));
        same(v.toPrecision(25));
        same(v.toExponential(16));
      }
    }
  });

  it('agrees with Number() on random numbers in every JSON spelling', () => {
    const rng = new SeededRandom(11);
    const digits = (n: number, first = false): string => {
      let s = '';
      for (let i = 0; i < n; i++)
        s += String(Math.floor(rng.next() * (first && i === 0 ? 9 : 10)) + (first && i === 0 ? 1 : 0));
      return s;
    };
    for (let n = 0; n < 20000; n++) {
      const kind = n % 5;
      let text: string;
      if (kind === 0) text = String((rng.next() - 0.5) * 10 ** Math.floor(rng.next() * 12 - 6));
      else if (kind === 1)
        text = String(Math.fround((rng.next() - 0.5) * 60)); // float32 values as clients print them
      else if (kind === 2)
        text = `${rng.next() < 0.5 ? '-' : ''}${rng.next() < 0.3 ? '0' : digits(1 + Math.floor(rng.next() * 25), true)}.${digits(1 + Math.floor(rng.next() * 35))}`;
      else if (kind === 3)
        text = `${digits(1 + Math.floor(rng.next() * 20), true)}e${rng.next() < 0.5 ? '-' : '+'}${Math.floor(rng.next() * 60)}`;
      else text = String(Math.floor((rng.next() - 0.5) * 2 ** Math.floor(rng.next() * 64)));
      same(text);
    }
  });

  it('refuses what JSON does not allow', () => {
    for (const text of ['01', '-', '1.', '.5', '+1', '1e', '1e+', '-.5', '00', '1.e3', '--1', '0x10', '1_000', ' 1']) {
      expect(() => parseJsonFloat32(text), text).toThrow(SyntaxError);
    }
  });
});

describe('predict body decoding', () => {
  it('reads the row form straight into one array per input, whatever the whitespace', () => {
    const instances = [patch(0), patch(1), patch(2)];
    for (const text of [
      JSON.stringify({ instances }),
      JSON.stringify({ instances }, null, 2),
      JSON.stringify({ instances }).replace(/,/g, ', ').replace(/:/g, ': '), // Python's json.dumps
      `\r\n\t{ "signature_name" : "serving_default" , "instances" : ${JSON.stringify(instances)} , "extra": {"a": [1, "x", null, true, {"b": NaN}]} }\n`,
    ]) {
      const r = decodePredictRequest(text, IMAGE);
      expect(r.format).toBe('row');
      expect(r.count).toBe(3);
      expect(r.values).toHaveLength(1);
      expect(r.values[0]).toEqual(flat(...instances));
    }
  });

  it('grows past any first guess of the instance count (37 instances)', () => {
    const instances = Array.from({ length: 37 }, (_, i) => patch(i));
    const r = decodePredictRequest(Buffer.from(JSON.stringify({ instances })), IMAGE);
    expect(r.count).toBe(37);
    expect(r.values[0]).toEqual(flat(...instances));
  });

  it('matches JSON.parse then a Float32Array on random bodies', () => {
    const rng = new SeededRandom(3);
    const spell = (v: number): string => {
      const k = Math.floor(rng.next() * 4);
      return k === 0
        ? String(v)
        : k === 1
          ? v.toExponential(Math.floor(rng.next() * 12))
          : k === 2
            ? v.toFixed(Math.floor(rng.next() * 9))
            : String(Math.fround(v));
    };
    for (let n = 0; n < 200; n++) {
      const count = 1 + Math.floor(rng.next() * 4);
      const scale = 10 ** Math.floor(rng.next() * 10 - 5);
      const texts: string[] = [];
      const instances = Array.from({ length: count }, (_, i) =>
        patch(i, () => {
          const t = spell((rng.next() - 0.5) * scale);
          texts.push(t);
          return 0;
        }),
      );
      let k = 0;
      const body = JSON.stringify({ instances }).replace(/0(?=[,\]])/g, () => texts[k++]!);
      const expected = new Float32Array((JSON.parse(body) as { instances: number[][][][] }).instances.flat(3));
      expect(decodePredictRequest(body, IMAGE).values[0]).toEqual(expected);
    }
  });

  it('reads named inputs, angles as numbers, null, "na", NaN or a one-item list', () => {
    const image = (i: number): string => JSON.stringify(patch(i));
    const body = `{"instances": [{"image": ${image(0)}, "inc_angle": 38.5}, {"inc_angle": null, "image": ${image(1)}}, {"image": ${image(2)}, "inc_angle": "na"}, {"image": ${image(3)}, "inc_angle": [41.25]}, {"image": ${image(4)}, "inc_angle": NaN}]}`;
    const r = decodePredictRequest(body, WITH_ANGLE);
    expect(r.count).toBe(5);
    expect(r.values[0]).toEqual(flat(patch(0), patch(1), patch(2), patch(3), patch(4)));
    expect(Array.from(r.values[1]!)).toEqual([38.5, NaN, NaN, 41.25, NaN]);
  });

  it('reads the columnar form: named, bare, and binary per instance or per batch', () => {
    const named = decodePredictRequest(
      JSON.stringify({ inputs: { inc_angle: [40, null], image: [patch(0), patch(1)] } }),
      WITH_ANGLE,
    );
    expect(named.format).toBe('columnar');
    expect(named.count).toBe(2);
    expect(named.values[0]).toEqual(flat(patch(0), patch(1)));
    expect(Array.from(named.values[1]!)).toEqual([40, NaN]);

    const bare = decodePredictRequest(JSON.stringify({ inputs: [patch(0), patch(1), patch(2)] }), IMAGE);
    expect(bare.count).toBe(3);
    expect(bare.values[0]).toEqual(flat(patch(0), patch(1), patch(2)));

    const batch = flat(patch(4), patch(5));
    const wholeBatch = decodePredictRequest(JSON.stringify({ inputs: { b64: b64(batch) } }), IMAGE);
    expect(wholeBatch.count).toBe(2);
    expect(wholeBatch.values[0]).toEqual(batch);
    const perInstance = decodePredictRequest(
      JSON.stringify({ inputs: { image: [{ b64: b64(flat(patch(4))) }, patch(5)], inc_angle: [1, 2] } }),
      WITH_ANGLE,
    );
    expect(perInstance.values[0]).toEqual(batch);

    const rows = decodePredictRequest(
      JSON.stringify({ instances: [{ b64: b64(flat(patch(6))) }, patch(7), { b64: b64(flat(patch(8))) }] }),
      IMAGE,
    );
    expect(rows.values[0]).toEqual(flat(patch(6), patch(7), patch(8)));
  });

  it('names the JSON path of a ragged list, a missing or extra item and a non-number', () => {
    const ragged = [patch(0), patch(1), patch(2), patch(3)];
    ragged[3]![1]!.pop();
    expect(decodeError(JSON.stringify({ instances: ragged }))).toBe(
      `instance 3, input 'image': expected shape [2, 3, 2]; the list at instances[3][1] has 2 items, dimension 1 is 3`,
    );
    const long = [patch(0)];
    long[0]![1]![2]!.push(7, 8);
    expect(decodeError(JSON.stringify({ instances: long }))).toBe(
      `instance 0, input 'image': expected shape [2, 3, 2]; the list at instances[0][1][2] has 4 items, dimension 2 is 2`,
    );
    const empty = [patch(0)] as unknown[][][][];
    empty[0]![0] = [];
    expect(decodeError(JSON.stringify({ instances: empty }))).toBe(
      `instance 0, input 'image': expected shape [2, 3, 2]; the list at instances[0][0] has 0 items, dimension 1 is 3`,
    );
    for (const [bad, described] of [
      ['"high"', 'the string "high"'],
      ['null', 'null'],
      ['true', 'the boolean true'],
      ['{"a": 1}', 'an object'],
      ['[1, 2]', 'a list of 2'],
    ] as const) {
      const text = JSON.stringify({ instances: [patch(0), patch(1), patch(2), patch(3)] }).replace('302', bad);
      expect(decodeError(text)).toBe(
        `instance 3, input 'image': expected a number (DT_FLOAT) at instances[3][0][1][0], got ${described}`,
      );
    }
    const deep = JSON.stringify({ instances: [patch(0)] }).replace('[[[0', '[[7, [0');
    expect(decodeError(deep)).toMatch(/at instances\[0\]\[0\]\[0\] got the number 7 where a list of 2 belongs$/);
    expect(
      decodeError(
        JSON.stringify({ inputs: { image: [patch(0), patch(1)], inc_angle: [1, 2] } }).replace('101', '"x"'),
        WITH_ANGLE,
      ),
    ).toBe(`inputs 'image', instance 1: expected a number (DT_FLOAT) at inputs.image[1][0][0][1], got the string "x"`);
    expect(
      decodeError(
        JSON.stringify({ instances: [{ image: patch(0), inc_angle: 1 }] }).replace('"image":[[[0', '"image":[[["x"'),
        WITH_ANGLE,
      ),
    ).toBe(
      `instance 0, input 'image': expected a number (DT_FLOAT) at instances[0].image[0][0][0], got the string "x"`,
    );
  });

  it('refuses non-finite and out-of-range image values, and non-angles', () => {
    const text = JSON.stringify({ instances: [patch(0), patch(1)] });
    expect(decodeError(text.replace('105', 'NaN'))).toBe(
      `instance 1, input 'image': NaN at instances[1][0][2][1]; image values must be finite`,
    );
    expect(decodeError(text.replace('105', '-Infinity'))).toMatch(
      /-Infinity at instances\[1\]\[0\]\[2\]\[1\]; image values must be finite$/,
    );
    expect(decodeError(text.replace('105', '1e39'))).toBe(
      `instance 1, input 'image': 1e39 at instances[1][0][2][1] is outside the float32 range; image values must be finite`,
    );
    const angle = (v: string): string =>
      decodeError(
        JSON.stringify({ instances: [{ image: patch(0), inc_angle: 0 }] }).replace('"inc_angle":0', `"inc_angle":${v}`),
        WITH_ANGLE,
      );
    expect(angle('Infinity')).toMatch(/Infinity at instances\[0\]\.inc_angle is not an incidence angle/);
    expect(angle('"high"')).toMatch(
      /expected a number \(incidence angle in degrees, DT_FLOAT\) or null at instances\[0\]\.inc_angle, got the string "high"/,
    );
    expect(angle('[1, 2]')).toMatch(/expected one incidence angle in degrees, got a list of 2/);
    const binary = new Float32Array(SIZE);
    binary[5] = NaN;
    expect(decodeError(JSON.stringify({ instances: [{ b64: b64(binary) }] }))).toMatch(
      /value 5 of the binary tensor is NaN; image values must be finite/,
    );
  });

  it('refuses bodies that are not JSON, naming the byte and the path', () => {
    const text = JSON.stringify({ instances: [patch(0), patch(1)] });
    expect(decodeError(text.slice(0, 40))).toMatch(
      /^JSON parse error at the end of the body \(byte 40\) \(in instances\[0\]\[1\]\[0\]\[1\]\): expected ',' or ']'/,
    );
    expect(decodeError(text.replace('[0,1]', '[0,]'))).toMatch(
      /^JSON parse error at byte \d+ \(in instances\[0\]\[0\]\[0\]\[1\]\): expected a value after ','/,
    );
    expect(decodeError(text.replace('105', '01'))).toMatch(
      /^JSON parse error at byte \d+ \(in instances\[1\]\[0\]\[2\]\[1\]\): a number cannot start with 0/,
    );
    expect(decodeError(`${text} x`)).toMatch(/^JSON parse error at byte \d+: unexpected data after the JSON object/);
    expect(decodeError('')).toMatch(/^JSON parse error .*the body is empty/);
    expect(decodeError('{"instances": [1, 2')).toMatch(/^JSON parse error/);
    // A fault in the values does not hide that the body is not JSON at all.
    expect(decodeError(`{"instances": [${JSON.stringify(patch(0)).replace('5', '"x"')}], "a": }`)).toMatch(
      /^JSON parse error at byte \d+: unexpected character '}'/,
    );
  });

  it('refuses the request shapes TF Serving refuses', () => {
    const one = JSON.stringify(patch(0));
    expect(decodeError(`[${one}]`)).toMatch(
      /^the request body must be a JSON object with 'instances' or 'inputs', got a list of 1/,
    );
    expect(decodeError(`{"instances": [${one}], "inputs": [${one}]}`)).toMatch(/both 'instances' and 'inputs'/);
    expect(decodeError(`{"instances": [${one}], "instances": [${one}]}`)).toMatch(/'instances' twice/);
    expect(decodeError('{"examples": []}')).toBe(`Missing 'inputs' or 'instances' key`);
    expect(decodeError('{}')).toBe(`Missing 'inputs' or 'instances' key`);
    expect(decodeError('{"instances": []}')).toMatch(/'instances' is empty/);
    expect(decodeError('{"inputs": []}')).toMatch(/'inputs' has no instances/);
    expect(decodeError('{"instances": {}}')).toMatch(/'instances' must be a list of instances, got an object/);
    expect(decodeError(`{"signature_name": "classify", "instances": [${one}]}`)).toMatch(
      /Serving signature name: "classify" not found/,
    );
    expect(decodeError(`{"instances": [{"image": ${one}, "inc_angle": 3}]}`)).toMatch(
      /^instance 0: unknown input 'inc_angle'; the signature's inputs are 'image'/,
    );
    expect(decodeError(`{"instances": [{"image": ${one}}]}`, WITH_ANGLE)).toMatch(
      /^instance 0: missing input 'inc_angle' \(send null for a missing angle\)/,
    );
    expect(decodeError(`{"instances": [${one}]}`, WITH_ANGLE)).toMatch(
      /^instance 0: expected an object with the inputs 'image', 'inc_angle', got a list of 2/,
    );
    expect(decodeError(`{"inputs": {"image": [${one}, ${one}], "inc_angle": [1]}}`, WITH_ANGLE)).toMatch(
      /'inc_angle' has 1 instances but 'image' has 2/,
    );
    expect(decodeError(`{"inputs": {"image": [${one}]}}`, WITH_ANGLE)).toMatch(/inputs: missing input 'inc_angle'/);
    expect(decodeError(`{"inputs": {"inc_angle": {"b64": "AAAA"}, "image": [${one}]}}`, WITH_ANGLE)).toMatch(
      /send angles as numbers, not binary/,
    );
  });

  it('checks binary values: length, alphabet, the lone "b64" key', () => {
    expect(decodeError(JSON.stringify({ instances: [{ b64: b64(new Float32Array(10)) }] }))).toBe(
      `instance 0, input 'image': "b64" decodes to 40 bytes, expected 48 bytes (12 float32 values), little-endian float32`,
    );
    expect(decodeError(JSON.stringify({ inputs: { b64: b64(new Float32Array(18)) } }))).toMatch(
      /"b64" decodes to 72 bytes, expected a positive multiple of 48 bytes/,
    );
    expect(decodeError('{"instances": [{"b64": "AA*A"}]}')).toMatch(/"b64" is not valid base64/);
    expect(decodeError('{"instances": [{"b64": 12}]}')).toMatch(/"b64" must be a base64 string, got the number 12/);
    expect(decodeError(`{"instances": [{"b64": "${b64(new Float32Array(SIZE))}", "x": 1}]}`)).toMatch(
      /a binary value is an object with only the key "b64"/,
    );
  });
});

describe('predict response encoding', () => {
  it('writes the JSON that JSON.stringify writes for the nested outputs, NaN as null', () => {
    const one = new Float32Array([0.25, 0.9300000071525574, NaN]);
    expect(encodePredictResponse('row', IMAGE, [one], 3)).toBe(
      JSON.stringify({ predictions: [[0.25], [Math.fround(0.93)], [null]] }),
    );
    expect(encodePredictResponse('columnar', IMAGE, [one], 3)).toBe(
      JSON.stringify({ outputs: [[0.25], [Math.fround(0.93)], [null]] }),
    );
    const two: ServingSignature = {
      ...IMAGE,
      outputs: [
        { name: 'p', shape: [1] },
        { name: 'embedding', shape: [2, 2] },
      ],
    };
    const emb = new Float32Array([1, 2, 3, 4, 5, 6, 7, 8]);
    const probs = new Float32Array([0.5, -1.5]);
    expect(JSON.parse(encodePredictResponse('row', two, [probs, emb], 2))).toEqual({
      predictions: [
        {
          p: [0.5],
          embedding: [
            [1, 2],
            [3, 4],
          ],
        },
        {
          p: [-1.5],
          embedding: [
            [5, 6],
            [7, 8],
          ],
        },
      ],
    });
    expect(JSON.parse(encodePredictResponse('columnar', two, [probs, emb], 2))).toEqual({
      outputs: {
        p: [[0.5], [-1.5]],
        embedding: [
          [
            [1, 2],
            [3, 4],
          ],
          [
            [5, 6],
            [7, 8],
          ],
        ],
      },
    });
  });
});
