import * as os from 'node:os';
import { invalidArgument, ServingError } from './errors';
import { JsonNumberScanner } from './json-number';
import { nativeDecoder } from './native-decode';
import { DEFAULT_SIGNATURE, sizeOf, type ServingInput, type ServingSignature } from './signature';

/**
 * Predict request bodies as TF Serving's REST API takes them: `{"instances": [...]}` (row form, one
 * item per instance, objects of named inputs for multi-input models) or `{"inputs": ...}` (columnar
 * form, one batched value per input), never both. Tensor values are nested lists in the input's
 * shape, or `{"b64": "..."}`: base64 of the instance's (row form) or the whole batch's (columnar
 * form) float32 values, little-endian, row-major.
 *
 * The body is read byte by byte against the signature: numbers go straight into one Float32Array
 * per input, with no JS value per number or list on the way (JSON.parse of a 75×75×2 instance
 * makes 11,250 numbers and 5,701 arrays, and cost more than the network it feeds). Every refusal is
 * a 400 that names the instance, the input and the JSON path at fault, e.g.
 * `instance 3, input 'image': expected a number (DT_FLOAT) at instances[3][12][4][1], got null`.
 * TF Serving's bare NaN / Infinity / -Infinity tokens are read too.
 */

export interface DecodedRequest {
  format: 'row' | 'columnar';
  /** Instances in the request (the batch dimension). */
  count: number;
  /** One array per signature input, in signature order: `count × sizeOf(shape)` values; missing angles are NaN. */
  values: Float32Array[];
}

const LITTLE_ENDIAN = os.endianness() === 'LE';
/** Deepest nesting a skipped value may have (the tensors we read have fixed depth). */
const MAX_DEPTH = 256;

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COMMA = 0x2c;
const COLON = 0x3a;
const OPEN_LIST = 0x5b;
const CLOSE_LIST = 0x5d;
const OPEN_OBJECT = 0x7b;
const CLOSE_OBJECT = 0x7d;
const MINUS = 0x2d;

/** Base64 alphabet, standard and URL-safe (as before: either is accepted). */
const BASE64 = new Uint8Array(256);
for (const ch of 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/-_') BASE64[ch.charCodeAt(0)] = 1;

const isDigit = (c: number | undefined): boolean => c !== undefined && c >= 0x30 && c <= 0x39;

/** A body that is not JSON (TF Serving's "JSON Parse error"); reported before any other fault in it. */
class BodySyntaxError extends ServingError {
  constructor(message: string) {
    super(400, message);
  }
}

/** One input's values as instances arrive; grows by doubling (a request's count is known only at its end). */
class Column {
  data: Float32Array;
  constructor(
    readonly input: ServingInput,
    readonly size: number,
    capacity: number,
  ) {
    this.data = new Float32Array(Math.max(1, capacity) * size);
  }

  /** Makes room for instances [0, count). */
  reserve(count: number): void {
    if (count * this.size <= this.data.length) return;
    let n = this.data.length / this.size;
    while (n < count) n *= 2;
    const grown = new Float32Array(n * this.size);
    grown.set(this.data);
    this.data = grown;
  }

  values(count: number): Float32Array {
    return this.data.length === count * this.size ? this.data : this.data.subarray(0, count * this.size);
  }
}

/** A bare NaN / Infinity / -Infinity token (TF Serving writes and reads them), or null. */
function nonFiniteToken(b: Uint8Array, p: number): { value: number; length: number } | null {
  const at = (word: string, q: number): boolean => {
    for (let i = 0; i < word.length; i++) if (b[q + i] !== word.charCodeAt(i)) return false;
    return true;
  };
  if (at('NaN', p)) return { value: NaN, length: 3 };
  if (at('Infinity', p)) return { value: Infinity, length: 8 };
  if (at('-Infinity', p)) return { value: -Infinity, length: 9 };
  return null;
}

class PredictBodyDecoder {
  private p = 0;
  private readonly n: number;
  private readonly numbers: JsonNumberScanner;
  /** Where numbers outside tensors (angles, skipped values) are read to. */
  private readonly scratch = new Float32Array(1);
  /** List indices of the tensor being read, for error paths. */
  private readonly index: number[] = [];

  constructor(
    private readonly b: Buffer,
    private readonly sig: ServingSignature,
  ) {
    this.n = b.length;
    this.numbers = new JsonNumberScanner(b);
  }

  decode(): DecodedRequest {
    this.ws();
    if (this.b[this.p] !== OPEN_OBJECT) {
      if (this.p >= this.n) throw this.syntax('the body is empty', '');
      const what = this.describe('');
      this.ws();
      if (this.p < this.n) throw this.syntax('unexpected data after the JSON value', '');
      throw invalidArgument(`the request body must be a JSON object with 'instances' or 'inputs', got ${what}`);
    }
    this.p++;
    let result: DecodedRequest | null = null;
    let seen: 'instances' | 'inputs' | null = null;
    let first = true;
    for (;;) {
      this.ws();
      if (first && this.b[this.p] === CLOSE_OBJECT) {
        this.p++;
        break;
      }
      first = false;
      const key = this.key('');
      if (key === 'instances' || key === 'inputs') {
        if (seen === key) throw invalidArgument(`the request has '${key}' twice`);
        if (seen)
          throw invalidArgument(
            `the request has both 'instances' and 'inputs': use one (row or columnar form), not both`,
          );
        seen = key;
        result = key === 'instances' ? this.rows() : this.columns();
      } else if (key === 'signature_name') {
        this.signatureName();
      } else {
        this.skip(key, 0); // other keys are ignored, as TF Serving does
      }
      this.ws();
      const c = this.b[this.p];
      if (c === COMMA) this.p++;
      else if (c === CLOSE_OBJECT) {
        this.p++;
        break;
      } else throw this.syntax(`expected ',' or '}' after the value of '${key}'`, '');
    }
    this.ws();
    if (this.p < this.n) throw this.syntax('unexpected data after the JSON object', '');
    if (!result) throw invalidArgument(`Missing 'inputs' or 'instances' key`);
    return result;
  }

  // ---- row form ------------------------------------------------------------------------------

  private rows(): DecodedRequest {
    const { b, sig } = this;
    this.ws();
    if (b[this.p] !== OPEN_LIST)
      throw invalidArgument(`'instances' must be a list of instances, got ${this.describe('instances')}`);
    this.p++;
    this.ws();
    if (b[this.p] === CLOSE_LIST) throw invalidArgument(`'instances' is empty: send at least one instance`);
    const columns = this.columnsFor(1);
    const single = sig.inputs.length === 1;
    let count = 0;
    for (;;) {
      const i = count++;
      for (const col of columns) col.reserve(count);
      this.ws();
      const path = `instances[${i}]`;
      if (single && (b[this.p] !== OPEN_OBJECT || this.firstKeyIsB64())) {
        this.value(columns[0]!, i, `instance ${i}, input '${sig.inputs[0]!.name}'`, path);
      } else {
        if (b[this.p] !== OPEN_OBJECT || this.firstKeyIsB64())
          throw invalidArgument(
            `instance ${i}: expected an object with the inputs ${this.inputNames()}, got ${this.describe(path)}`,
          );
        this.namedInstance(columns, i, path);
      }
      this.ws();
      const c = b[this.p];
      if (c === COMMA) this.p++;
      else if (c === CLOSE_LIST) {
        this.p++;
        break;
      } else throw this.syntax(`expected ',' or ']' after an instance`, path);
    }
    return { format: 'row', count, values: columns.map((c) => c.values(count)) };
  }

  /** `{"image": ..., "inc_angle": ...}`: one instance's named inputs. */
  private namedInstance(columns: Column[], i: number, path: string): void {
    const b = this.b;
    const given = new Array<boolean>(columns.length).fill(false);
    this.p++; // {
    this.ws();
    if (b[this.p] === CLOSE_OBJECT) this.p++;
    else {
      for (;;) {
        this.ws();
        const key = this.key(path);
        const k = this.sig.inputs.findIndex((s) => s.name === key);
        if (k < 0)
          throw invalidArgument(
            `instance ${i}: unknown input '${key}'; the signature's inputs are ${this.inputNames()}`,
          );
        if (given[k]) throw invalidArgument(`instance ${i}: input '${key}' is given twice`);
        given[k] = true;
        this.ws();
        this.value(columns[k]!, i, `instance ${i}, input '${key}'`, `${path}.${key}`);
        this.ws();
        const c = b[this.p];
        if (c === COMMA) this.p++;
        else if (c === CLOSE_OBJECT) {
          this.p++;
          break;
        } else throw this.syntax(`expected ',' or '}' in an instance`, path);
      }
    }
    given.forEach((ok, k) => {
      const input = this.sig.inputs[k]!;
      if (!ok)
        throw invalidArgument(
          `instance ${i}: missing input '${input.name}'${input.role === 'angle' ? ' (send null for a missing angle)' : ''}`,
        );
    });
  }

  // ---- columnar form -------------------------------------------------------------------------

  private columns(): DecodedRequest {
    const { b, sig } = this;
    this.ws();
    const columns = this.columnsFor(1);
    const counts = new Array<number>(columns.length).fill(-1);
    const c = b[this.p];
    if (sig.inputs.length === 1 && (c === OPEN_LIST || (c === OPEN_OBJECT && this.firstKeyIsB64()))) {
      counts[0] = this.column(columns[0]!, 'inputs');
    } else if (c === OPEN_OBJECT) {
      this.p++;
      this.ws();
      if (b[this.p] === CLOSE_OBJECT) this.p++;
      else {
        for (;;) {
          this.ws();
          const key = this.key('inputs');
          const k = sig.inputs.findIndex((s) => s.name === key);
          if (k < 0)
            throw invalidArgument(`inputs: unknown input '${key}'; the signature's inputs are ${this.inputNames()}`);
          if (counts[k]! >= 0) throw invalidArgument(`inputs: input '${key}' is given twice`);
          this.ws();
          counts[k] = this.column(columns[k]!, `inputs.${key}`);
          this.ws();
          const d = b[this.p];
          if (d === COMMA) this.p++;
          else if (d === CLOSE_OBJECT) {
            this.p++;
            break;
          } else throw this.syntax(`expected ',' or '}' in 'inputs'`, 'inputs');
        }
      }
    } else if (sig.inputs.length === 1) {
      throw invalidArgument(
        `inputs '${sig.inputs[0]!.name}': expected a list with one value of shape [${sig.inputs[0]!.shape.join(', ')}] per instance, got ${this.describe('inputs')}`,
      );
    } else {
      throw invalidArgument(
        `'inputs' must be an object with the inputs ${this.inputNames()}, got ${this.describe('inputs')}`,
      );
    }
    counts.forEach((n, k) => {
      if (n < 0) throw invalidArgument(`inputs: missing input '${sig.inputs[k]!.name}'`);
    });
    const count = counts[0]!;
    if (count === 0) throw invalidArgument(`'inputs' has no instances: send at least one`);
    counts.forEach((n, k) => {
      if (n !== count)
        throw invalidArgument(
          `inputs: '${sig.inputs[k]!.name}' has ${n} instances but '${sig.inputs[0]!.name}' has ${count}; every input needs the same batch size`,
        );
    });
    return { format: 'columnar', count, values: columns.map((col) => col.values(count)) };
  }

  /** One input's batch: a list with one value per instance, or `{"b64": ...}` of the whole batch. Returns the count. */
  private column(col: Column, path: string): number {
    const b = this.b;
    const where = `inputs '${col.input.name}'`;
    if (b[this.p] === OPEN_OBJECT && this.firstKeyIsB64()) {
      if (col.input.role === 'angle') throw invalidArgument(`${where}: send angles as numbers, not binary`);
      return this.b64(col, 0, where, path, true);
    }
    if (b[this.p] !== OPEN_LIST)
      throw invalidArgument(
        `${where}: expected a list with one value of shape [${col.input.shape.join(', ')}] per instance, got ${this.describe(path)}`,
      );
    this.p++;
    this.ws();
    if (b[this.p] === CLOSE_LIST) {
      this.p++;
      return 0;
    }
    let count = 0;
    for (;;) {
      const i = count++;
      col.reserve(count);
      this.ws();
      this.value(col, i, `${where}, instance ${i}`, `${path}[${i}]`);
      this.ws();
      const c = b[this.p];
      if (c === COMMA) this.p++;
      else if (c === CLOSE_LIST) {
        this.p++;
        return count;
      } else throw this.syntax(`expected ',' or ']' after an instance`, path);
    }
  }

  // ---- values --------------------------------------------------------------------------------

  /** One instance's value of one input into `col` at instance `i`. */
  private value(col: Column, i: number, where: string, path: string): void {
    if (col.input.role === 'angle') {
      col.data[i] = this.angle(where, path);
      return;
    }
    if (this.b[this.p] === OPEN_OBJECT) {
      if (!this.firstKeyIsB64())
        throw invalidArgument(
          `${where}: expected shape [${col.input.shape.join(', ')}]; at ${path} got ${this.describe(path)} where a list of ${col.input.shape[0]} belongs`,
        );
      this.b64(col, i, where, path, false);
      return;
    }
    this.tensor(col.input.shape, col.data, i * col.size, where, path);
  }

  /** A nested list of `shape` into `out` from `offset`; image values must be finite float32. */
  private tensor(shape: readonly number[], out: Float32Array, offset: number, where: string, path: string): void {
    if (shape.length > 0) {
      // The native reader takes the whole list in one call; on anything unexpected it says -1 and
      // the reading below (from the same place) names the problem.
      const end = nativeDecoder()?.decodeNumberTensor(this.b, this.p, shape, out, offset) ?? -1;
      if (end >= 0) {
        this.p = end;
        return;
      }
    }
    this.index.length = 0;
    this.list(shape, 0, out, offset, where, path);
  }

  private list(shape: readonly number[], d: number, out: Float32Array, o: number, where: string, path: string): number {
    const b = this.b;
    const n = shape[d]!;
    if (b[this.p] !== OPEN_LIST) {
      const at = this.pathAt(path, d);
      throw invalidArgument(
        `${where}: expected shape [${shape.join(', ')}]; at ${at} got ${this.describe(at)} where a list of ${n} belongs`,
      );
    }
    if (d === shape.length - 1) return this.numberList(shape, out, o, where, path);
    const listStart = this.p;
    this.p++;
    for (let i = 0; i < n; i++) {
      this.index[d] = i;
      this.ws();
      if (b[this.p] === CLOSE_LIST) throw this.closedEarly(shape, d, i, where, path);
      o = this.list(shape, d + 1, out, o, where, path);
      this.ws();
      const c = b[this.p];
      if (c === COMMA) {
        if (i === n - 1) {
          this.p = listStart;
          throw this.shapeError(shape, d, this.countItems(path), where, path);
        }
        this.p++;
      } else if (c === CLOSE_LIST) {
        this.p++;
        if (i < n - 1) throw this.shapeError(shape, d, i + 1, where, path);
      } else throw this.syntax(`expected ',' or ']'`, this.pathAt(path, d + 1));
    }
    if (n === 0) this.emptyList(shape, d, listStart, where, path);
    return o;
  }

  /** The innermost list (at `p`, its `[`): numbers straight into `out` from `o`. The hot loop of a request. */
  private numberList(shape: readonly number[], out: Float32Array, o: number, where: string, path: string): number {
    const b = this.b;
    const numbers = this.numbers;
    const d = shape.length - 1;
    const n = shape[d]!;
    const listStart = this.p;
    let p = listStart + 1;
    for (let i = 0; i < n; i++) {
      let c = b[p]!;
      while (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) c = b[++p]!;
      if ((c >= 0x30 && c <= 0x39) || (c === MINUS && b[p + 1] !== 0x49)) {
        if (!numbers.scanInto(p, out, o)) {
          this.p = numbers.end;
          this.index[d] = i;
          throw this.syntax(numbers.error!, this.pathAt(path, d + 1));
        }
        const f = out[o++]!;
        if (f === Infinity || f === -Infinity) {
          this.index[d] = i;
          throw invalidArgument(
            `${where}: ${b.toString('latin1', p, numbers.end)} at ${this.pathAt(path, d + 1)} is outside the float32 range; image values must be finite`,
          );
        }
        p = numbers.end;
      } else {
        this.p = p;
        this.index[d] = i;
        const at = this.pathAt(path, d + 1);
        const token = nonFiniteToken(b, p);
        if (token) throw invalidArgument(`${where}: ${token.value} at ${at}; image values must be finite`);
        if (c === CLOSE_LIST) throw this.closedEarly(shape, d, i, where, path);
        throw invalidArgument(`${where}: expected a number (DT_FLOAT) at ${at}, got ${this.describe(at)}`);
      }
      c = b[p]!;
      while (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) c = b[++p]!;
      if (c === COMMA) {
        if (i === n - 1) {
          this.p = listStart;
          throw this.shapeError(shape, d, this.countItems(path), where, path);
        }
        p++;
      } else if (c === CLOSE_LIST) {
        p++;
        if (i < n - 1) {
          this.p = p;
          throw this.shapeError(shape, d, i + 1, where, path);
        }
      } else {
        this.p = p;
        this.index[d] = i;
        throw this.syntax(`expected ',' or ']'`, this.pathAt(path, d + 1));
      }
    }
    this.p = p;
    if (n === 0) this.emptyList(shape, d, listStart, where, path);
    return o;
  }

  /** The closing `]` of a list of dimension 0 (after its `[`). */
  private emptyList(shape: readonly number[], d: number, listStart: number, where: string, path: string): void {
    this.ws();
    if (this.b[this.p] !== CLOSE_LIST) {
      this.p = listStart;
      throw this.shapeError(shape, d, this.countItems(path), where, path);
    }
    this.p++;
  }

  /** `]` where item `i` belongs: an empty list is a shape error, `[1, 2, ]` a syntax error. */
  private closedEarly(shape: readonly number[], d: number, i: number, where: string, path: string): ServingError {
    return i === 0
      ? this.shapeError(shape, d, 0, where, path)
      : this.syntax(`expected a value after ','`, this.pathAt(path, d + 1));
  }

  private shapeError(shape: readonly number[], d: number, items: number, where: string, path: string): ServingError {
    return invalidArgument(
      `${where}: expected shape [${shape.join(', ')}]; the list at ${this.pathAt(path, d)} has ${items} items, dimension ${d} is ${shape[d]}`,
    );
  }

  /** `path` followed by the first `depth` list indices of the tensor being read. */
  private pathAt(path: string, depth: number): string {
    let s = path;
    for (let k = 0; k < depth; k++) s += `[${this.index[k]}]`;
    return s;
  }

  /** One incidence angle: a number, or missing as null, "na" or NaN; a one-item list is accepted too. */
  private angle(where: string, path: string): number {
    const b = this.b;
    if (b[this.p] !== OPEN_LIST) return this.angleValue(where, path);
    const start = this.p;
    this.p++;
    this.ws();
    if (b[this.p] !== CLOSE_LIST) {
      const v = this.angleValue(where, `${path}[0]`);
      this.ws();
      if (b[this.p] === CLOSE_LIST) {
        this.p++;
        return v;
      }
    }
    this.p = start;
    throw invalidArgument(`${where}: expected one incidence angle in degrees, got ${this.describe(path)}`);
  }

  private angleValue(where: string, path: string): number {
    const b = this.b;
    const c = b[this.p];
    const token = nonFiniteToken(b, this.p);
    if (token) {
      this.p += token.length;
      if (Number.isNaN(token.value)) return NaN;
      throw invalidArgument(`${where}: ${token.value} at ${path} is not an incidence angle`);
    }
    if (isDigit(c) || c === MINUS) {
      const start = this.p;
      if (!this.numbers.scanInto(this.p, this.scratch, 0)) {
        this.p = this.numbers.end;
        throw this.syntax(this.numbers.error!, path);
      }
      this.p = this.numbers.end;
      const v = this.scratch[0]!;
      if (!Number.isFinite(v))
        throw invalidArgument(`${where}: ${b.toString('latin1', start, this.p)} at ${path} is not an incidence angle`);
      return v;
    }
    if (this.word('null')) return NaN;
    if (c === QUOTE) {
      const start = this.p;
      if (this.string(path) === 'na') return NaN;
      this.p = start;
    }
    throw invalidArgument(
      `${where}: expected a number (incidence angle in degrees, DT_FLOAT) or null at ${path}, got ${this.describe(path)}`,
    );
  }

  /** `{"b64": "..."}` float32 values into `col`: one instance at `i`, or (`batch`) the whole batch. Returns the count. */
  private b64(col: Column, i: number, where: string, path: string, batch: boolean): number {
    const b = this.b;
    const objectStart = this.p;
    this.p++; // {
    this.ws();
    this.key(path); // "b64", checked by firstKeyIsB64
    this.ws();
    if (b[this.p] !== QUOTE)
      throw invalidArgument(`${where}: "b64" must be a base64 string, got ${this.describe(`${path}.b64`)}`);
    // The base64 text: scanned here (no escapes in base64), decoded straight into the column.
    const start = this.p + 1;
    let q = start;
    while (q < this.n && BASE64[b[q]!] === 1) q++;
    const textEnd = q;
    while (q < this.n && b[q] === 0x3d && q - textEnd < 2) q++;
    if (b[q] !== QUOTE) {
      this.p = q;
      if (q >= this.n) throw this.syntax('unterminated string', `${path}.b64`);
      if (b[q] === BACKSLASH || b[q] === 0x3d || b[q]! >= 0x20)
        throw invalidArgument(`${where}: "b64" is not valid base64 (at ${path}.b64, character ${q - start})`);
      throw this.syntax('control character in a string', `${path}.b64`);
    }
    const chars = textEnd - start;
    const bytes = Math.floor((chars * 3) / 4);
    if (chars % 4 === 1) throw invalidArgument(`${where}: "b64" is not valid base64 (at ${path}.b64: bad length)`);
    this.p = q + 1;
    this.ws();
    if (b[this.p] !== CLOSE_OBJECT) {
      this.p = objectStart;
      throw invalidArgument(`${where}: a binary value is an object with only the key "b64"`);
    }
    this.p++;
    const per = col.size * 4;
    if (batch ? bytes === 0 || bytes % per !== 0 : bytes !== per) {
      const wanted = batch
        ? `a positive multiple of ${per} bytes (${col.size} float32 values per instance)`
        : `${per} bytes (${col.size} float32 values)`;
      throw invalidArgument(`${where}: "b64" decodes to ${bytes} bytes, expected ${wanted}, little-endian float32`);
    }
    const count = batch ? bytes / per : 1;
    col.reserve(i + count);
    const text = b.toString('latin1', start, textEnd);
    const offset = i * col.size;
    if (LITTLE_ENDIAN) {
      Buffer.from(col.data.buffer, col.data.byteOffset + offset * 4, bytes).write(text, 0, bytes, 'base64');
    } else {
      const raw = Buffer.from(text, 'base64');
      for (let k = 0; k < bytes / 4; k++) col.data[offset + k] = raw.readFloatLE(k * 4);
    }
    const values = col.data;
    for (let k = offset, end = offset + count * col.size; k < end; k++) {
      const v = values[k]!;
      if (v - v !== 0)
        throw invalidArgument(
          `${where}: value ${k - offset} of the binary tensor is ${v}; image values must be finite`,
        );
    }
    return count;
  }

  // ---- JSON plumbing -------------------------------------------------------------------------

  private columnsFor(capacity: number): Column[] {
    return this.sig.inputs.map((input) => new Column(input, sizeOf(input.shape), capacity));
  }

  private inputNames(): string {
    return this.sig.inputs.map((i) => `'${i.name}'`).join(', ');
  }

  private ws(): void {
    const b = this.b;
    let p = this.p;
    let c = b[p];
    while (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) c = b[++p];
    this.p = p;
  }

  /** Checks that the whole body is JSON (TF Serving's tokens allowed), throwing the first syntax error. */
  checkSyntax(): void {
    this.p = 0;
    this.skip('', 0);
    this.ws();
    if (this.p < this.n) throw this.syntax('unexpected data after the JSON value', '');
  }

  private syntax(why: string, path: string): ServingError {
    const at = this.p >= this.n ? `at the end of the body (byte ${this.n})` : `at byte ${this.p}`;
    return new BodySyntaxError(`JSON parse error ${at}${path ? ` (in ${path})` : ''}: ${why}`);
  }

  /** Consumes `word` if it is next. */
  private word(word: string): boolean {
    for (let i = 0; i < word.length; i++) if (this.b[this.p + i] !== word.charCodeAt(i)) return false;
    this.p += word.length;
    return true;
  }

  /** Whether the object starting here begins with the key "b64" (a binary value rather than named inputs). */
  private firstKeyIsB64(): boolean {
    let q = this.p + 1;
    const b = this.b;
    while (b[q] === 0x20 || b[q] === 0x0a || b[q] === 0x0d || b[q] === 0x09) q++;
    return b[q] === QUOTE && b[q + 1] === 0x62 && b[q + 2] === 0x36 && b[q + 3] === 0x34 && b[q + 4] === QUOTE;
  }

  /** An object key and its colon. */
  private key(path: string): string {
    if (this.b[this.p] !== QUOTE) throw this.syntax('expected a key (a string)', path);
    const key = this.string(path);
    this.ws();
    if (this.b[this.p] !== COLON) throw this.syntax(`expected ':' after the key "${key}"`, path);
    this.p++;
    return key;
  }

  /** A JSON string at `p` (the opening quote). */
  private string(path: string): string {
    const b = this.b;
    const start = this.p;
    let q = start + 1;
    let escaped = false;
    for (;;) {
      if (q >= this.n) {
        this.p = q;
        throw this.syntax('unterminated string', path);
      }
      const c = b[q]!;
      if (c === QUOTE) break;
      if (c < 0x20) {
        this.p = q;
        throw this.syntax('control character in a string', path);
      }
      if (c === BACKSLASH) {
        escaped = true;
        q++;
      }
      q++;
    }
    this.p = q + 1;
    if (!escaped) return b.toString('utf8', start + 1, q);
    try {
      return JSON.parse(b.toString('utf8', start, q + 1)) as string;
    } catch (err) {
      this.p = start;
      throw this.syntax(`bad string: ${(err as Error).message}`, path);
    }
  }

  private signatureName(): void {
    this.ws();
    if (this.b[this.p] !== QUOTE)
      throw invalidArgument(`'signature_name' must be a string, got ${this.describe('signature_name')}`);
    const s = this.string('signature_name');
    if (s !== '' && s !== DEFAULT_SIGNATURE)
      throw invalidArgument(
        `Serving signature name: "${s}" not found in signature def (it has "${DEFAULT_SIGNATURE}")`,
      );
  }

  /** Skips one JSON value, checking its syntax. */
  private skip(path: string, depth: number): void {
    if (depth > MAX_DEPTH) throw this.syntax(`nesting deeper than ${MAX_DEPTH}`, path);
    this.ws();
    const b = this.b;
    const c = b[this.p];
    if (c === QUOTE) {
      this.string(path);
      return;
    }
    if (c === OPEN_LIST || c === OPEN_OBJECT) {
      const close = c === OPEN_LIST ? CLOSE_LIST : CLOSE_OBJECT;
      this.p++;
      this.ws();
      if (b[this.p] === close) {
        this.p++;
        return;
      }
      for (;;) {
        this.ws();
        if (c === OPEN_OBJECT) this.key(path);
        this.skip(path, depth + 1);
        this.ws();
        const d = b[this.p];
        if (d === COMMA) this.p++;
        else if (d === close) {
          this.p++;
          return;
        } else throw this.syntax(`expected ',' or '${c === OPEN_LIST ? ']' : '}'}'`, path);
      }
    }
    const token = nonFiniteToken(b, this.p);
    if (token) {
      this.p += token.length;
      return;
    }
    if (isDigit(c) || c === MINUS) {
      const ok = this.numbers.scanInto(this.p, this.scratch, 0);
      this.p = this.numbers.end;
      if (!ok) throw this.syntax(this.numbers.error!, path);
      return;
    }
    if (this.word('null') || this.word('true') || this.word('false')) return;
    if (this.p >= this.n) throw this.syntax('unexpected end of the body', path);
    throw this.syntax(`unexpected character '${String.fromCharCode(c!)}'`, path);
  }

  /** Items of the list at `p`, skipping them (for error messages). */
  private countItems(path: string): number {
    const b = this.b;
    this.p++;
    this.ws();
    if (b[this.p] === CLOSE_LIST) {
      this.p++;
      return 0;
    }
    let items = 0;
    for (;;) {
      this.skip(path, 1);
      items++;
      this.ws();
      const c = b[this.p];
      if (c === COMMA) this.p++;
      else if (c === CLOSE_LIST) {
        this.p++;
        return items;
      } else throw this.syntax(`expected ',' or ']'`, path);
    }
  }

  /** What the value at `p` is, in words, for an error message (syntax errors in it surface first). */
  private describe(path: string): string {
    const b = this.b;
    this.ws();
    const start = this.p;
    const c = b[start];
    if (c === OPEN_LIST) return `a list of ${this.countItems(path)}`;
    this.skip(path, 0);
    if (c === QUOTE) {
      this.p = start;
      const s = this.string(path);
      return `the string ${JSON.stringify(s.length > 20 ? `${s.slice(0, 20)}…` : s)}`;
    }
    if (c === OPEN_OBJECT) return 'an object';
    const text = b.toString('utf8', start, this.p);
    if (text === 'null') return 'null';
    if (text === 'true' || text === 'false') return `the boolean ${text}`;
    return `the number ${text}`;
  }
}

/**
 * Decodes a predict request body (the raw bytes, or a string) against a signature; throws a 400
 * ServingError naming what is wrong and where.
 */
export function decodePredictRequest(body: Uint8Array | string, sig: ServingSignature): DecodedRequest {
  const bytes =
    typeof body === 'string'
      ? Buffer.from(body, 'utf8')
      : Buffer.isBuffer(body)
        ? body
        : Buffer.from(body.buffer, body.byteOffset, body.byteLength);
  try {
    return new PredictBodyDecoder(bytes, sig).decode();
  } catch (err) {
    // Values are checked as they are read, so a body that is not JSON at all could first fail on
    // its content; as JSON.parse would, report that it is not JSON.
    if (err instanceof ServingError && !(err instanceof BodySyntaxError))
      new PredictBodyDecoder(bytes, sig).checkSyntax();
    throw err;
  }
}

/** A float32 as JSON: the shortest text that reads back as the same double, as JSON.stringify writes it; non-finite as null. */
function jsonNumber(v: number): string {
  return v - v === 0 ? `${v}` : 'null';
}

/** One instance's output values (`size` from `at`) nested to `shape`, as JSON text. */
function nestedJson(values: Float32Array, shape: readonly number[], at: number): string {
  if (shape.length === 0) return jsonNumber(values[at]!);
  if (shape.length === 1) {
    let s = '[';
    for (let i = 0; i < shape[0]!; i++) s += (i ? ',' : '') + jsonNumber(values[at + i]!);
    return `${s}]`;
  }
  const stride = sizeOf(shape.slice(1));
  const inner = shape.slice(1);
  let s = '[';
  for (let i = 0; i < shape[0]!; i++) s += (i ? ',' : '') + nestedJson(values, inner, at + i * stride);
  return `${s}]`;
}

/**
 * The predict response as JSON text: `{"predictions": [...]}` for the row form (one item per
 * instance; an object of named outputs when there are several), `{"outputs": ...}` for the
 * columnar form. Written directly, without building the nested lists first.
 */
export function encodePredictResponse(
  format: DecodedRequest['format'],
  sig: ServingSignature,
  outputs: readonly Float32Array[],
  count: number,
): string {
  const sizes = sig.outputs.map((o) => sizeOf(o.shape));
  const instance = (k: number, i: number): string => nestedJson(outputs[k]!, sig.outputs[k]!.shape, i * sizes[k]!);
  const batch = (k: number): string => {
    let s = '[';
    for (let i = 0; i < count; i++) s += (i ? ',' : '') + instance(k, i);
    return `${s}]`;
  };
  const names = sig.outputs.map((o) => JSON.stringify(o.name));
  if (sig.outputs.length === 1) return format === 'row' ? `{"predictions":${batch(0)}}` : `{"outputs":${batch(0)}}`;
  if (format === 'columnar') return `{"outputs":{${names.map((name, k) => `${name}:${batch(k)}`).join(',')}}}`;
  let s = '{"predictions":[';
  for (let i = 0; i < count; i++)
    s += `${i ? ',' : ''}{${names.map((name, k) => `${name}:${instance(k, i)}`).join(',')}}`;
  return `${s}]}`;
}
