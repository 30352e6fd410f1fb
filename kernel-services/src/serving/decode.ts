import * as os from 'node:os';
import { invalidArgument } from './errors';
import { DEFAULT_SIGNATURE, sizeOf, type ServingInput, type ServingSignature } from './signature';

/**
 * Predict request bodies as TF Serving's REST API takes them: `{"instances": [...]}` (row form, one
 * item per instance, objects of named inputs for multi-input models) or `{"inputs": ...}` (columnar
 * form, one batched value per input), never both. Tensor values are nested lists in the input's
 * shape, or `{"b64": "..."}`: base64 of the instance's (row form) or the whole batch's (columnar
 * form) float32 values, little-endian, row-major. Every refusal names the instance, input and
 * position at fault.
 */

export interface DecodedRequest {
  format: 'row' | 'columnar';
  /** Instances in the request (the batch dimension). */
  count: number;
  /** One array per signature input, in signature order: `count × sizeOf(shape)` values; missing angles are NaN. */
  values: Float32Array[];
}

// TF Serving's JSON accepts the bare tokens NaN, Infinity and -Infinity; JSON.parse does not, so
// they are rewritten to these strings first (only when the plain parse fails on such a body).
const NAN = '\u0000NaN';
const POS_INF = '\u0000Infinity';
const NEG_INF = '\u0000-Infinity';

function rewriteNonFiniteTokens(text: string): string {
  let out = '';
  let last = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c)
        i++; // backslash: skip the escaped character
      else if (c === 0x22) inString = false;
      continue;
    }
    if (c === 0x22) {
      inString = true;
      continue;
    }
    let token: string | null = null;
    let replacement = '';
    if (c === 0x4e && text.startsWith('NaN', i)) [token, replacement] = ['NaN', NAN];
    else if (c === 0x49 && text.startsWith('Infinity', i)) [token, replacement] = ['Infinity', POS_INF];
    else if (c === 0x2d && text.startsWith('-Infinity', i)) [token, replacement] = ['-Infinity', NEG_INF];
    if (token) {
      out += text.slice(last, i) + JSON.stringify(replacement);
      i += token.length - 1;
      last = i + 1;
    }
  }
  return out + text.slice(last);
}

/** Parses a request body; NaN/Infinity tokens are accepted as TF Serving does. */
export function parseRequestJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch (err) {
    if (/NaN|Infinity/.test(text)) {
      try {
        return JSON.parse(rewriteNonFiniteTokens(text));
      } catch {
        // report the original error below
      }
    }
    throw invalidArgument(`JSON parse error: ${(err as Error).message}`);
  }
}

function numberOf(v: unknown): number | undefined {
  if (typeof v === 'number') return v;
  if (v === NAN) return NaN;
  if (v === POS_INF) return Infinity;
  if (v === NEG_INF) return -Infinity;
  return undefined;
}

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return `a list of ${v.length}`;
  if (typeof v === 'string') return `the string ${JSON.stringify(v.length > 20 ? `${v.slice(0, 20)}…` : v)}`;
  if (typeof v === 'object') return 'an object';
  return `${typeof v} ${String(v)}`;
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function isB64(v: unknown): v is { b64: unknown } {
  return isPlainObject(v) && 'b64' in v;
}

const LITTLE_ENDIAN = os.endianness() === 'LE';

/** Float32 values of a `{"b64": ...}` object; `expect` values exactly, or a positive multiple of `per` when `per` is given. */
function b64Floats(v: { b64: unknown }, where: string, expect: number, per = 0): Float32Array {
  if (Object.keys(v).length !== 1)
    throw invalidArgument(`${where}: a binary value is an object with only the key "b64"`);
  if (typeof v.b64 !== 'string')
    throw invalidArgument(`${where}: "b64" must be a base64 string, got ${describe(v.b64)}`);
  if (!/^[A-Za-z0-9+/\-_]*={0,2}$/.test(v.b64)) throw invalidArgument(`${where}: "b64" is not valid base64`);
  const bytes = Buffer.from(v.b64, 'base64');
  const wanted =
    per > 0
      ? `a positive multiple of ${per * 4} bytes (${per} float32 values per instance)`
      : `${expect * 4} bytes (${expect} float32 values)`;
  if (
    bytes.length % 4 !== 0 ||
    (per > 0 ? bytes.length === 0 || bytes.length % (per * 4) !== 0 : bytes.length !== expect * 4)
  ) {
    throw invalidArgument(
      `${where}: "b64" decodes to ${bytes.length} bytes, expected ${wanted}, little-endian float32`,
    );
  }
  const n = bytes.length / 4;
  const out = new Float32Array(n);
  if (LITTLE_ENDIAN) new Uint8Array(out.buffer).set(bytes);
  else for (let i = 0; i < n; i++) out[i] = bytes.readFloatLE(i * 4);
  return out;
}

/**
 * Copies one instance's nested-list value of `shape` into `out` at `offset`. Image values must be
 * finite numbers: a NaN pixel would only make the prediction NaN.
 */
function fillTensor(v: unknown, shape: readonly number[], out: Float32Array, offset: number, where: string): void {
  const idx: number[] = [];
  const at = (): string => `[${idx.join(', ')}]`;
  const expected = `shape [${shape.join(', ')}]`;
  let o = offset;
  const walk = (x: unknown, d: number): void => {
    const n = shape[d]!;
    if (!Array.isArray(x)) {
      throw invalidArgument(
        `${where}: expected ${expected}; ${d === 0 ? 'got' : `at ${at()} got`} ${describe(x)} where a list of ${n} belongs`,
      );
    }
    if (x.length !== n) {
      throw invalidArgument(
        `${where}: expected ${expected}; ${d === 0 ? 'the value' : `the list at ${at()}`} has ${x.length} items, dimension ${d} is ${n}`,
      );
    }
    if (d === shape.length - 1) {
      for (let i = 0; i < n; i++) {
        const e = x[i];
        if (typeof e === 'number') {
          out[o++] = e;
          continue;
        }
        idx.push(i);
        const num = numberOf(e);
        if (num !== undefined) throw invalidArgument(`${where}: ${num} at ${at()}; image values must be finite`);
        throw invalidArgument(`${where}: expected a number (DT_FLOAT) at ${at()}, got ${describe(e)}`);
      }
      return;
    }
    for (let i = 0; i < n; i++) {
      idx.push(i);
      walk(x[i], d + 1);
      idx.pop();
    }
  };
  walk(v, 0);
  // Non-finite numbers cannot come from JSON.parse except through the rewritten tokens, handled above.
}

/** One instance's angle: a number, or missing as null, "na" or NaN; a one-item list is accepted too. */
function angleValue(v: unknown, where: string): number {
  let x = v;
  if (Array.isArray(x)) {
    if (x.length !== 1) throw invalidArgument(`${where}: expected one incidence angle in degrees, got ${describe(x)}`);
    x = x[0];
  }
  if (x === null || x === 'na') return NaN;
  const n = numberOf(x);
  if (n === undefined)
    throw invalidArgument(
      `${where}: expected a number (incidence angle in degrees, DT_FLOAT) or null, got ${describe(x)}`,
    );
  if (n === Infinity || n === -Infinity) throw invalidArgument(`${where}: ${n} is not an incidence angle`);
  return n;
}

function fillInstance(input: ServingInput, v: unknown, out: Float32Array, i: number, where: string): void {
  if (input.role === 'angle') {
    out[i] = angleValue(v, where);
    return;
  }
  const size = sizeOf(input.shape);
  if (isB64(v)) {
    const floats = b64Floats(v, where, size);
    for (let k = 0; k < size; k++) {
      if (!Number.isFinite(floats[k]!))
        throw invalidArgument(`${where}: value ${k} of the binary tensor is ${floats[k]}; image values must be finite`);
    }
    out.set(floats, i * size);
    return;
  }
  fillTensor(v, input.shape, out, i * size, where);
}

function checkSignatureName(body: Record<string, unknown>): void {
  if (!('signature_name' in body)) return;
  const s = body.signature_name;
  if (typeof s !== 'string') throw invalidArgument(`'signature_name' must be a string, got ${describe(s)}`);
  if (s !== '' && s !== DEFAULT_SIGNATURE)
    throw invalidArgument(`Serving signature name: "${s}" not found in signature def (it has "${DEFAULT_SIGNATURE}")`);
}

function inputNames(sig: ServingSignature): string {
  return sig.inputs.map((i) => `'${i.name}'`).join(', ');
}

function decodeRows(instances: unknown, sig: ServingSignature): DecodedRequest {
  if (!Array.isArray(instances))
    throw invalidArgument(`'instances' must be a list of instances, got ${describe(instances)}`);
  const count = instances.length;
  if (count === 0) throw invalidArgument(`'instances' is empty: send at least one instance`);
  const values = sig.inputs.map((input) => new Float32Array(count * sizeOf(input.shape)));
  const single = sig.inputs.length === 1;
  for (let i = 0; i < count; i++) {
    const inst = instances[i];
    if (single && !(isPlainObject(inst) && !isB64(inst))) {
      fillInstance(sig.inputs[0]!, inst, values[0]!, i, `instance ${i}, input '${sig.inputs[0]!.name}'`);
      continue;
    }
    if (!isPlainObject(inst) || isB64(inst)) {
      throw invalidArgument(
        `instance ${i}: expected an object with the inputs ${inputNames(sig)}, got ${describe(inst)}`,
      );
    }
    for (const key of Object.keys(inst)) {
      if (!sig.inputs.some((s) => s.name === key))
        throw invalidArgument(`instance ${i}: unknown input '${key}'; the signature's inputs are ${inputNames(sig)}`);
    }
    sig.inputs.forEach((input, k) => {
      if (!(input.name in inst)) {
        throw invalidArgument(
          `instance ${i}: missing input '${input.name}'${input.role === 'angle' ? ' (send null for a missing angle)' : ''}`,
        );
      }
      fillInstance(input, inst[input.name], values[k]!, i, `instance ${i}, input '${input.name}'`);
    });
  }
  return { format: 'row', count, values };
}

function decodeColumn(
  input: ServingInput,
  v: unknown,
): { count: number; fill(out: Float32Array): void } | Float32Array {
  const where = `inputs '${input.name}'`;
  const size = sizeOf(input.shape);
  if (isB64(v)) {
    if (input.role === 'angle') throw invalidArgument(`${where}: send angles as numbers, not binary`);
    const floats = b64Floats(v, where, 0, size);
    for (let k = 0; k < floats.length; k++) {
      if (!Number.isFinite(floats[k]!))
        throw invalidArgument(`${where}: value ${k} of the binary tensor is ${floats[k]}; image values must be finite`);
    }
    return floats;
  }
  if (!Array.isArray(v)) {
    throw invalidArgument(
      `${where}: expected a list with one value of shape [${input.shape.join(', ')}] per instance, got ${describe(v)}`,
    );
  }
  return {
    count: v.length,
    fill(out: Float32Array) {
      for (let i = 0; i < v.length; i++) fillInstance(input, v[i], out, i, `${where}, instance ${i}`);
    },
  };
}

function decodeColumns(inputs: unknown, sig: ServingSignature): DecodedRequest {
  let named: Record<string, unknown>;
  if (isPlainObject(inputs) && !isB64(inputs)) named = inputs;
  else if (sig.inputs.length === 1) named = { [sig.inputs[0]!.name]: inputs };
  else throw invalidArgument(`'inputs' must be an object with the inputs ${inputNames(sig)}, got ${describe(inputs)}`);
  for (const key of Object.keys(named)) {
    if (!sig.inputs.some((s) => s.name === key))
      throw invalidArgument(`inputs: unknown input '${key}'; the signature's inputs are ${inputNames(sig)}`);
  }
  const columns = sig.inputs.map((input) => {
    if (!(input.name in named)) throw invalidArgument(`inputs: missing input '${input.name}'`);
    return decodeColumn(input, named[input.name]);
  });
  const counts = columns.map((c, k) => (c instanceof Float32Array ? c.length / sizeOf(sig.inputs[k]!.shape) : c.count));
  const count = counts[0]!;
  if (count === 0) throw invalidArgument(`'inputs' has no instances: send at least one`);
  counts.forEach((n, k) => {
    if (n !== count) {
      throw invalidArgument(
        `inputs: '${sig.inputs[k]!.name}' has ${n} instances but '${sig.inputs[0]!.name}' has ${count}; every input needs the same batch size`,
      );
    }
  });
  const values = columns.map((c, k) => {
    if (c instanceof Float32Array) return c;
    const out = new Float32Array(count * sizeOf(sig.inputs[k]!.shape));
    c.fill(out);
    return out;
  });
  return { format: 'columnar', count, values };
}

/** Decodes a parsed predict body against a signature; throws a 400 ServingError naming what is wrong. */
export function decodePredictRequest(body: unknown, sig: ServingSignature): DecodedRequest {
  if (!isPlainObject(body))
    throw invalidArgument(`the request body must be a JSON object with 'instances' or 'inputs', got ${describe(body)}`);
  checkSignatureName(body);
  const hasInstances = 'instances' in body;
  const hasInputs = 'inputs' in body;
  if (hasInstances && hasInputs)
    throw invalidArgument(`the request has both 'instances' and 'inputs': use one (row or columnar form), not both`);
  if (!hasInstances && !hasInputs) throw invalidArgument(`Missing 'inputs' or 'instances' key`);
  return hasInstances ? decodeRows(body.instances, sig) : decodeColumns(body.inputs, sig);
}

/** Float32 values as JSON numbers nested to the output shape, per instance. */
export function nestOutput(values: Float32Array, shape: readonly number[], count: number): unknown[] {
  const size = sizeOf(shape);
  const nest = (at: number, d: number): unknown => {
    if (d === shape.length) return values[at]!;
    const n = shape[d]!;
    const stride = sizeOf(shape.slice(d + 1));
    const list: unknown[] = new Array(n);
    for (let i = 0; i < n; i++) list[i] = nest(at + i * stride, d + 1);
    return list;
  };
  const out: unknown[] = new Array(count);
  for (let i = 0; i < count; i++) out[i] = nest(i * size, 0);
  return out;
}
