/**
 * JSON numbers read straight from the bytes of a request body into float32 tensors: exactly what
 * `Math.fround(Number(text))` gives (JSON.parse then a Float32Array store, as TF Serving's
 * parse-to-double-then-cast does), without making a string per number.
 *
 * The mantissa's digits are gathered in a double. When that double is exact (below 2^53) and the
 * decimal exponent is within ±22, one multiplication or division by an exact power of ten is
 * correctly rounded (Clinger's fast path), so the result is `Number(text)` itself. Longer mantissas
 * (float32 values printed in full, like -15.193900108337402, have 17 digits) come within 2^-47 of
 * the true value; the float32 that rounds to is certain unless a float32 rounding boundary lies
 * within 2^-46 of it, which is checked, and only then (about one number in a million), or for
 * exponents beyond ±22 or mantissas over 32 digits, `Number()` reads the text.
 */

const POW10 = Array.from({ length: 23 }, (_, i) => Number(`1e${i}`));
const MAX_EXACT = 2 ** 53 - 1;
const BELOW = 1 - 2 ** -46;
const ABOVE = 1 + 2 ** -46;
/**
 * Longest mantissa gathered in a double: each digit past 2^53 adds at most 2^-52 of relative error,
 * so 32 digits stay within 2^-47, inside the 2^-46 the boundary check allows. Longer ones: Number().
 */
const MAX_DIGITS = 32;

const MINUS = 0x2d;
const PLUS = 0x2b;
const DOT = 0x2e;
const ZERO = 0x30;
const NINE = 0x39;

export class JsonNumberScanner {
  /** Where the last number ended (the first byte after it). */
  end = 0;
  /** Why the last scan failed (a JSON syntax error at `end`), or null. */
  error: string | null = null;
  private readonly words: DataView;
  private readonly lastWord: number;

  constructor(private readonly b: Uint8Array) {
    this.words = new DataView(b.buffer, b.byteOffset, b.byteLength);
    this.lastWord = b.length - 4;
  }

  /**
   * Reads the JSON number starting at `p` (a `-` or a digit) into `out[o]`: the float32
   * `Math.fround(Number(text))`. Returns false on a syntax error (`error` and `end` say why and
   * where). The value goes straight into the array: a double returned from a call that is not
   * inlined would be boxed, one heap object per number.
   */
  scanInto(p: number, out: Float32Array, o: number): boolean {
    const b = this.b;
    const start = p;
    // Reads past the end give undefined, which fails every comparison below: no bounds checks needed.
    let c = b[p]!;
    let negative = false;
    if (c === MINUS) {
      negative = true;
      c = b[++p]!;
    }
    const intStart = p;
    let w = 0;
    while (c >= ZERO && c <= NINE) {
      w = w * 10 + (c - ZERO);
      c = b[++p]!;
    }
    let digits = p - intStart;
    if (digits === 0) return this.fail(p, negative ? "expected a digit after '-'" : 'expected a number');
    if (digits > 1 && b[intStart] === ZERO)
      return this.fail(intStart + 1, 'a number cannot start with 0 followed by digits');
    let exp10 = 0;
    if (c === DOT) {
      const fractionStart = ++p;
      // Four digits at a time while there are (fractions are where the digits are).
      const words = this.words;
      while (p <= this.lastWord) {
        const x = words.getUint32(p, true);
        if ((x & 0xf0f0f0f0) !== 0x30303030 || ((x + 0x06060606) & 0xf0f0f0f0) !== 0x30303030) break;
        const d = x - 0x30303030;
        w = w * 10000 + ((d & 0xff) * 1000 + ((d >>> 8) & 0xff) * 100 + ((d >>> 16) & 0xff) * 10 + (d >>> 24));
        p += 4;
      }
      c = b[p]!;
      while (c >= ZERO && c <= NINE) {
        w = w * 10 + (c - ZERO);
        c = b[++p]!;
      }
      if (p === fractionStart) return this.fail(p, 'expected a digit after the decimal point');
      exp10 = fractionStart - p;
      digits += p - fractionStart;
    }
    if (c === 0x65 || c === 0x45) {
      c = b[++p]!;
      let sign = 1;
      if (c === PLUS) c = b[++p]!;
      else if (c === MINUS) {
        sign = -1;
        c = b[++p]!;
      }
      if (!(c >= ZERO && c <= NINE)) return this.fail(p, 'expected a digit in the exponent');
      let e = 0;
      do {
        if (e < 1e6) e = e * 10 + (c - ZERO);
        c = b[++p]!;
      } while (c >= ZERO && c <= NINE);
      exp10 += sign * e;
    }
    this.end = p;
    this.error = null;
    if (w === 0) out[o] = negative ? -0 : 0;
    else if (digits <= MAX_DIGITS && exp10 >= -22 && exp10 <= 22) {
      const v = exp10 < 0 ? w / POW10[-exp10]! : w * POW10[exp10]!;
      if (w > MAX_EXACT) {
        const f = Math.fround(v);
        if (Math.fround(v * BELOW) !== f || Math.fround(v * ABOVE) !== f) {
          out[o] = Number(latin1(b, start, p));
          return true;
        }
      }
      out[o] = negative ? -v : v;
    } else out[o] = Number(latin1(b, start, p));
    return true;
  }

  private fail(at: number, why: string): boolean {
    this.end = at;
    this.error = why;
    return false;
  }
}

function latin1(b: Uint8Array, start: number, end: number): string {
  return Buffer.from(b.buffer, b.byteOffset + start, end - start).toString('latin1');
}

/** Reads a whole string as one JSON number, as float32; throws a SyntaxError on anything else. */
export function parseJsonFloat32(text: string): number {
  const bytes = Buffer.from(text, 'latin1');
  const scanner = new JsonNumberScanner(bytes);
  const out = new Float32Array(1);
  if (!scanner.scanInto(0, out, 0)) throw new SyntaxError(`${scanner.error} at byte ${scanner.end} of '${text}'`);
  if (scanner.end !== bytes.length) throw new SyntaxError(`unexpected byte ${scanner.end} of '${text}'`);
  return out[0]!;
}
