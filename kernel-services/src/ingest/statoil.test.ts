import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, describe, expect, it } from 'vitest';
import { readStatoil, readStatoilAll, StatoilFormatError, type StatoilReadOptions } from './statoil';
import { generateSynthetic, writeStatoil } from './synthetic';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'floe-statoil-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

/** A small record in the challenge's shape, with bands of 4 values (read with bandLength: 4). */
function rec(over: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    id: 'dfd5f913',
    band_1: [-27.87, -25.5, 0.25, 3],
    band_2: [-30, -31.5, -29, -28.25],
    inc_angle: 43.9239,
    is_iceberg: 0,
    ...over,
  };
}

const small: StatoilReadOptions = { bandLength: 4, name: 'train.json' };

async function readText(text: string, opts: StatoilReadOptions = small) {
  return readStatoilAll(Buffer.from(text, 'utf8'), opts);
}

async function errorOf(text: string, opts: StatoilReadOptions = small): Promise<StatoilFormatError> {
  try {
    await readText(text, opts);
  } catch (e) {
    expect(e).toBeInstanceOf(StatoilFormatError);
    return e as StatoilFormatError;
  }
  throw new Error('expected the read to fail');
}

describe('readStatoil: valid input', () => {
  it('reads records, keeps "na" angles as null and labels as 0/1', async () => {
    const text = JSON.stringify([rec(), rec({ id: 'b', inc_angle: 'na', is_iceberg: 1 })]);
    const rows = await readText(text);
    expect(rows).toHaveLength(2);
    expect(rows[0]!.id).toBe('dfd5f913');
    expect(rows[0]!.band_1).toBeInstanceOf(Float32Array);
    expect([...rows[0]!.band_1]).toEqual([-27.87, -25.5, 0.25, 3].map(Math.fround));
    expect([...rows[0]!.band_2]).toEqual([-30, -31.5, -29, -28.25]);
    expect(rows[0]!.inc_angle).toBe(43.9239);
    expect(rows[0]!.is_iceberg).toBe(0);
    expect(rows[1]!.inc_angle).toBeNull();
    expect(rows[1]!.is_iceberg).toBe(1);
  });

  it('reads test-set records without is_iceberg (the property is absent, not undefined-valued)', async () => {
    const { is_iceberg: _drop, ...noLabel } = rec();
    const rows = await readText(JSON.stringify([noLabel, { ...noLabel, id: 'x' }]));
    expect(rows).toHaveLength(2);
    expect('is_iceberg' in rows[0]!).toBe(false);
  });

  it('accepts JSON null as a missing angle', async () => {
    const rows = await readText(JSON.stringify([rec({ inc_angle: null })]));
    expect(rows[0]!.inc_angle).toBeNull();
  });

  it('reads an empty array as no records', async () => {
    expect(await readText(' [ ] ')).toEqual([]);
  });

  it('reads pretty-printed JSON, any field order, a byte order mark and escaped ids', async () => {
    const r = { inc_angle: 36.1, band_2: [1, 2, 3, 4], is_iceberg: 1, band_1: [5, 6, 7, 8], id: 'a"b\\u00e9' };
    const rows = await readText('\ufeff' + JSON.stringify([r], null, 2));
    expect(rows[0]!.id).toBe('a"b\\u00e9');
    expect([...rows[0]!.band_1]).toEqual([5, 6, 7, 8]);
  });

  it('parses numbers exactly like parseFloat rounded to float32 (exponents, long mantissas, -0)', async () => {
    const values = [
      '-27.878360999999998',
      '1e-3',
      '-2.5E+1',
      '0',
      '-0',
      '12345678901234567890',
      '0.000000000000000000000000123',
      '3.4028234e38',
      '-45.1',
      '35',
    ];
    const text = `[{"id":"n","band_1":[${values.join(',')}],"band_2":[${values.join(',')}],"inc_angle":30,"is_iceberg":1}]`;
    const rows = await readText(text, { bandLength: values.length });
    expect([...rows[0]!.band_1]).toEqual(values.map((v) => Math.fround(parseFloat(v))));
  });

  it('parses random decimals bit-exactly as float32', async () => {
    let x = 12345;
    const vals: string[] = [];
    for (let i = 0; i < 20000; i++) {
      x = (Math.imul(x, 1103515245) + 12345) >>> 0;
      const v = (x / 4294967296) * 80 - 45;
      vals.push(i % 3 === 0 ? String(v) : i % 3 === 1 ? v.toFixed(4) : String(Math.fround(v)));
    }
    const text = `[{"id":"r","band_1":[${vals.join(',')}],"band_2":[${vals.join(',')}],"inc_angle":30}]`;
    const rows = await readText(text, { bandLength: vals.length });
    const expected = Float32Array.from(vals.map((v) => parseFloat(v)));
    expect(Buffer.from(rows[0]!.band_1.buffer).equals(Buffer.from(expected.buffer))).toBe(true);
  });

  it('gives the same records whatever the chunk size (records straddle chunks)', async () => {
    const file = path.join(tmp, 'chunks.json');
    const original = generateSynthetic({ seed: 5, count: 4 });
    await writeStatoil(original, file);
    for (const chunkBytes of [997, 4096, 100_003, 1 << 20]) {
      const rows = await readStatoilAll(file, { chunkBytes });
      expect(rows.map((r) => r.id)).toEqual(original.map((r) => r.id));
      rows.forEach((r, i) => {
        expect(r.band_1).toEqual(original[i]!.band_1);
        expect(r.band_2).toEqual(original[i]!.band_2);
        expect(r.inc_angle).toBe(original[i]!.inc_angle);
        expect(r.is_iceberg).toBe(original[i]!.is_iceberg);
      });
    }
  });

  it('parses byte by byte (one-byte chunks) the same as in one piece', async () => {
    const text = JSON.stringify([rec(), rec({ id: 'two', inc_angle: 'na', band_1: [1.5e-3, -0, 7, 8] })], null, 1);
    const whole = await readText(text);
    const bytewise = await readStatoilAll(Buffer.from(text), { ...small, chunkBytes: 1 });
    expect(bytewise).toEqual(whole);
    expect(whole).toHaveLength(2);
  });

  it('reads from a stream of string chunks', async () => {
    const text = JSON.stringify([rec(), rec({ id: 'second' })]);
    const parts = [text.slice(0, 13), text.slice(13, 50), text.slice(50)];
    const rows = await readStatoilAll(Readable.from(parts), small);
    expect(rows.map((r) => r.id)).toEqual(['dfd5f913', 'second']);
  });

  it('reports progress: bytes read of the total and records, ending at the file size', async () => {
    const file = path.join(tmp, 'progress.json');
    const { bytes } = await writeStatoil(generateSynthetic({ seed: 9, count: 12 }), file);
    const seen: { bytesRead: number; totalBytes: number | undefined; records: number }[] = [];
    await readStatoilAll(file, { chunkBytes: 256 * 1024, onProgress: (p) => seen.push(p) });
    expect(seen.length).toBeGreaterThan(3);
    const last = seen[seen.length - 1]!;
    expect(last).toEqual({ bytesRead: bytes, totalBytes: bytes, records: 12 });
    for (let i = 1; i < seen.length; i++) expect(seen[i]!.bytesRead).toBeGreaterThanOrEqual(seen[i - 1]!.bytesRead);
  });

  it('stops when the caller breaks out of the loop, closing the file', async () => {
    const file = path.join(tmp, 'early.json');
    await writeStatoil(generateSynthetic({ seed: 1, count: 10 }), file);
    const stream = readStatoil(file, { chunkBytes: 64 * 1024 });
    let n = 0;
    for await (const _ of stream) if (++n === 2) break;
    expect(stream.recordsRead).toBe(2);
    expect(stream.bytesRead).toBeLessThan(fs.statSync(file).size);
  });
});

describe('readStatoil: bad input, each with a clear error', () => {
  it('names the file, record, id, field and byte offset', async () => {
    const text = JSON.stringify([rec(), rec({ id: 'bad1', band_2: [1, 2, 3] })]);
    const e = await errorOf(text);
    expect(e.file).toBe('train.json');
    expect(e.recordIndex).toBe(1);
    expect(e.id).toBe('bad1');
    expect(e.field).toBe('band_2');
    // The offset points into the second record's band_2 (at its closing bracket).
    expect(text.slice(e.byteOffset, e.byteOffset + 1)).toBe(']');
    expect(text.lastIndexOf('band_2')).toBeLessThan(e.byteOffset);
    expect(e.message).toMatch(
      /^train\.json: record 1, id "bad1", field band_2, byte \d+: band_2 has 3 values, expected 4/,
    );
  });

  it('uses the file path in errors when reading a file', async () => {
    const file = path.join(tmp, 'broken.json');
    fs.writeFileSync(file, '[{"id": "a", "band_1": [1,2,3,4], "band_2": [1,2,3,4], "inc_angle": 40,}]');
    await expect(readStatoilAll(file, { bandLength: 4 })).rejects.toThrow(`${file}: record 0, id "a"`);
  });

  it('rejects malformed JSON: a missing colon', async () => {
    const e = await errorOf('[{"id" "a"}]');
    expect(e.message).toMatch(/expected ':' after field name "id"/);
    expect(e.byteOffset).toBe(7);
  });

  it('rejects malformed JSON: garbage between records', async () => {
    const e = await errorOf(`[${JSON.stringify(rec())} x ${JSON.stringify(rec())}]`);
    expect(e.message).toMatch(/expected ',' or '\]' after record 0, found 'x'/);
  });

  it('rejects malformed JSON: a trailing comma in the array', async () => {
    const e = await errorOf(`[${JSON.stringify(rec())},]`);
    expect(e.message).toMatch(/trailing ','/);
  });

  it('rejects malformed numbers in a band', async () => {
    const e = await errorOf(JSON.stringify([rec()]).replace('-25.5', '-25.'));
    expect(e.field).toBe('band_1');
    expect(e.message).toMatch(/band_1\[1\] is not a JSON number: -25\./);
  });

  it('rejects a document that is not an array', async () => {
    const e = await errorOf(JSON.stringify(rec()));
    expect(e.message).toMatch(/expected '\['/);
    expect(e.recordIndex).toBeUndefined();
  });

  it('rejects a truncated file inside a record', async () => {
    const text = JSON.stringify([rec(), rec({ id: 'cut' })]);
    const e = await errorOf(text.slice(0, text.length - 20));
    expect(e.recordIndex).toBe(1);
    expect(e.message).toMatch(/unexpected end of input inside a record/);
  });

  it("rejects a file missing its closing ']'", async () => {
    const e = await errorOf(`[${JSON.stringify(rec())}`);
    expect(e.message).toMatch(/missing the closing '\]'/);
  });

  it('rejects empty input', async () => {
    const e = await errorOf('  ');
    expect(e.message).toMatch(/empty input/);
  });

  it('rejects content after the closing bracket', async () => {
    const e = await errorOf(`[${JSON.stringify(rec())}] []`);
    expect(e.message).toMatch(/after the closing '\]'/);
  });

  it('rejects a band that is too short', async () => {
    const e = await errorOf(JSON.stringify([rec({ band_1: [1, 2, 3] })]));
    expect(e.message).toMatch(/band_1 has 3 values, expected 4/);
  });

  it('rejects a band that is too long, counting all of its values', async () => {
    const e = await errorOf(JSON.stringify([rec({ band_2: [1, 2, 3, 4, 5, 6] })]));
    expect(e.message).toMatch(/band_2 has 6 values, expected 4/);
  });

  it('rejects the default 75x75 length when a band has 5624 values', async () => {
    const band = Array.from({ length: 5625 }, (_, i) => -20 + (i % 7));
    const e = await errorOf(
      JSON.stringify([{ id: 'x', band_1: band.slice(1), band_2: band, inc_angle: 40, is_iceberg: 1 }]),
      {},
    );
    expect(e.message).toMatch(/band_1 has 5624 values, expected 5625 \(75 x 75\)/);
  });

  it('rejects an empty band', async () => {
    const e = await errorOf(JSON.stringify([rec({ band_1: [] })]));
    expect(e.message).toMatch(/band_1 is empty/);
  });

  it('rejects NaN in a band (as Python json.dump writes it)', async () => {
    const e = await errorOf(JSON.stringify([rec()]).replace('0.25', 'NaN'));
    expect(e.message).toMatch(/band_1\[2\] is NaN/);
    expect(e.field).toBe('band_1');
  });

  it('rejects Infinity in a band', async () => {
    const e = await errorOf(JSON.stringify([rec()]).replace('-29', 'Infinity'));
    expect(e.message).toMatch(/band_2\[2\] is Infinity/);
  });

  it('rejects -Infinity in a band', async () => {
    const e = await errorOf(JSON.stringify([rec()]).replace('-29', '-Infinity'));
    expect(e.message).toMatch(/band_2\[2\] is -Infinity/);
  });

  it('rejects a number beyond the float32 range', async () => {
    const e = await errorOf(JSON.stringify([rec()]).replace('0.25', '1e39'));
    expect(e.message).toMatch(/band_1\[2\] = 1e39 is not a finite float32 value/);
  });

  it('rejects a string in a band', async () => {
    const e = await errorOf(JSON.stringify([rec({ band_1: [1, '2', 3, 4] })]));
    expect(e.message).toMatch(/band_1\[1\] must be a number, found a string "2"/);
  });

  it('rejects null in a band', async () => {
    const e = await errorOf(JSON.stringify([rec({ band_1: [1, 2, null, 4] })]));
    expect(e.message).toMatch(/band_1\[2\] must be a number, found null/);
  });

  it('rejects a band that is not an array', async () => {
    const e = await errorOf(JSON.stringify([rec({ band_2: 'abc' })]));
    expect(e.message).toMatch(/band_2 must be an array of 4 numbers, found a string/);
  });

  it('rejects an unknown field by default, naming it', async () => {
    const e = await errorOf(JSON.stringify([rec({ band_3: [1] })]));
    expect(e.field).toBe('band_3');
    expect(e.message).toMatch(/unknown field "band_3"/);
  });

  it("skips unknown fields under unknownFields: 'warn' and aggregates the warnings", async () => {
    const text = JSON.stringify([
      rec({ source: { sat: 'S1A', n: [1, 2] } }),
      rec({ id: 'z', source: null, note: 'x' }),
    ]);
    const stream = readStatoil(Buffer.from(text), { ...small, unknownFields: 'warn' });
    const rows = [];
    for await (const r of stream) rows.push(r);
    expect(rows).toHaveLength(2);
    expect(stream.warnings).toEqual([
      { field: 'source', count: 2, firstRecord: 0, firstId: 'dfd5f913' },
      { field: 'note', count: 1, firstRecord: 1, firstId: 'z' },
    ]);
  });

  it('rejects a record missing band_2', async () => {
    const { band_2: _b, ...r } = rec();
    const e = await errorOf(JSON.stringify([r]));
    expect(e.field).toBe('band_2');
    expect(e.message).toMatch(/missing field band_2/);
  });

  it('rejects a record missing inc_angle', async () => {
    const { inc_angle: _a, ...r } = rec();
    const e = await errorOf(JSON.stringify([r]));
    expect(e.message).toMatch(/missing field inc_angle/);
  });

  it('rejects a record missing several fields, listing them', async () => {
    const e = await errorOf('[{"inc_angle": 40}]');
    expect(e.message).toMatch(/missing fields id, band_1, band_2/);
  });

  it('rejects a record missing is_iceberg after labelled ones', async () => {
    const { is_iceberg: _l, ...r } = rec({ id: 'nolabel' });
    const e = await errorOf(JSON.stringify([rec(), r]));
    expect(e.recordIndex).toBe(1);
    expect(e.field).toBe('is_iceberg');
    expect(e.message).toMatch(/missing field is_iceberg/);
  });

  it("rejects labels in a file read with labels: 'forbidden'", async () => {
    const e = await errorOf(JSON.stringify([rec()]), { ...small, labels: 'forbidden' });
    expect(e.message).toMatch(/is_iceberg present/);
  });

  it('rejects a numeric id', async () => {
    const e = await errorOf(JSON.stringify([rec({ id: 42 })]));
    expect(e.field).toBe('id');
    expect(e.message).toMatch(/id must be a string, found the value 42/);
  });

  it('rejects an empty id', async () => {
    const e = await errorOf(JSON.stringify([rec({ id: '' })]));
    expect(e.message).toMatch(/id is an empty string/);
  });

  it('rejects an inc_angle string other than "na"', async () => {
    const e = await errorOf(JSON.stringify([rec({ inc_angle: '43.1' })]));
    expect(e.field).toBe('inc_angle');
    expect(e.message).toMatch(/inc_angle must be a number or "na", found the string "43.1"/);
  });

  it('rejects a boolean inc_angle', async () => {
    const e = await errorOf(JSON.stringify([rec({ inc_angle: true })]));
    expect(e.message).toMatch(/inc_angle must be a number or "na", found a boolean true/);
  });

  it('rejects is_iceberg other than 0 or 1', async () => {
    const e = await errorOf(JSON.stringify([rec({ is_iceberg: 2 })]));
    expect(e.message).toMatch(/is_iceberg must be 0 or 1, found the value 2/);
  });

  it('rejects is_iceberg as a string', async () => {
    const e = await errorOf(JSON.stringify([rec({ is_iceberg: '1' })]));
    expect(e.message).toMatch(/is_iceberg must be 0 or 1, found a string "1"/);
  });

  it('rejects a field given twice', async () => {
    const e = await errorOf('[{"id": "a", "id": "b", "band_1": [1,2,3,4], "band_2": [1,2,3,4], "inc_angle": 40}]');
    expect(e.message).toMatch(/field id appears twice/);
  });

  it('rejects a record that is not an object', async () => {
    const e = await errorOf('[[1, 2]]');
    expect(e.recordIndex).toBe(0);
    expect(e.message).toMatch(/expected a record object/);
  });

  it('rejects a missing file with its path', async () => {
    await expect(readStatoilAll(path.join(tmp, 'nope.json'))).rejects.toThrow(/nope\.json: cannot read Statoil JSON/);
  });
});
