import * as fs from 'node:fs';

/**
 * Streaming reader of the Statoil/C-CORE iceberg challenge JSON (`train.json`, `test.json`):
 *
 *   [{"id": "dfd5f913", "band_1": [5625 numbers], "band_2": [5625 numbers],
 *     "inc_angle": 43.9239 | "na", "is_iceberg": 0 | 1}, ...]
 *
 * The real train.json is ~200 MB, so it is never handed to JSON.parse: a byte-level parser
 * specialised for this shape decodes one record at a time straight into Float32Arrays. Memory is one
 * record plus one read chunk. When a record straddles two chunks the parser gives up on it
 * (NEED_MORE), the next chunk is appended and the record is parsed again from its start; with 1 MiB
 * chunks and ~120 kB records that re-parses about one record in eight.
 */

/** One patch: HH (band_1) and HV (band_2) backscatter in dB, 75x75 row-major. */
export interface StatoilRecord {
  id: string;
  band_1: Float32Array;
  band_2: Float32Array;
  /** Incidence angle in degrees; `null` where the file says `"na"` (or `null`). */
  inc_angle: number | null;
  /** 1 = iceberg, 0 = ship; absent in test.json. */
  is_iceberg?: 0 | 1;
}

export interface StatoilProgress {
  bytesRead: number;
  /** Size of the input when known (files: always; streams: when given in options). */
  totalBytes: number | undefined;
  records: number;
}

/** A field the format does not define, seen under the `warn` policy (aggregated: memory stays bounded). */
export interface StatoilUnknownFieldWarning {
  field: string;
  count: number;
  firstRecord: number;
  firstId: string | undefined;
}

export interface StatoilReadOptions {
  /** Name used in errors for streams and buffers; files use their path. */
  name?: string;
  /** Values per band: 75 x 75 = 5625 in the challenge data. */
  bandLength?: number;
  /**
   * Fields other than the five above: `error` (default; a typo such as `band1` would otherwise
   * silently lose a band) or `warn` (skip the value and collect an aggregated warning).
   */
  unknownFields?: 'error' | 'warn';
  /**
   * `is_iceberg`: `auto` (default) follows the first record (train: every record labelled; test:
   * none), `required`, or `forbidden`.
   */
  labels?: 'auto' | 'required' | 'forbidden';
  /** Called after every read chunk and at the end. */
  onProgress?: (p: StatoilProgress) => void;
  /** Total size for progress when reading a stream. */
  totalBytes?: number;
  /** Read chunk size for files (default 1 MiB). */
  chunkBytes?: number;
  signal?: AbortSignal;
}

/** A bad Statoil file: says which file, record, id, field and byte offset. */
export class StatoilFormatError extends Error {
  override readonly name = 'StatoilFormatError';
  constructor(
    readonly file: string,
    readonly recordIndex: number | undefined,
    readonly id: string | undefined,
    readonly field: string | undefined,
    readonly byteOffset: number,
    readonly detail: string,
  ) {
    const where = [
      recordIndex === undefined ? undefined : `record ${recordIndex}`,
      id === undefined ? undefined : `id ${JSON.stringify(id)}`,
      field === undefined ? undefined : `field ${field}`,
      `byte ${byteOffset}`,
    ]
      .filter((s) => s !== undefined)
      .join(', ');
    super(`${file}: ${where}: ${detail}`);
  }
}

export type StatoilSource = string | AsyncIterable<Uint8Array | string> | Uint8Array;

/** The records of a Statoil file or stream, plus what was seen while reading them. */
export class StatoilRecordStream implements AsyncIterable<StatoilRecord> {
  readonly warnings: StatoilUnknownFieldWarning[] = [];
  recordsRead = 0;
  bytesRead = 0;
  private started = false;

  constructor(
    private readonly source: StatoilSource,
    private readonly options: StatoilReadOptions = {},
  ) {}

  async *[Symbol.asyncIterator](): AsyncIterator<StatoilRecord> {
    if (this.started) throw new Error('a StatoilRecordStream can be iterated once');
    this.started = true;
    const opts = this.options;
    const { name, chunks, totalBytes } = openSource(this.source, opts);
    const parser = new StatoilParser(
      name,
      opts.bandLength ?? 5625,
      opts.unknownFields ?? 'error',
      opts.labels ?? 'auto',
    );
    const warningByField = new Map<string, StatoilUnknownFieldWarning>();
    parser.onUnknownField = (field, record, id) => {
      const w = warningByField.get(field);
      if (w) w.count++;
      else {
        const fresh = { field, count: 1, firstRecord: record, firstId: id };
        warningByField.set(field, fresh);
        this.warnings.push(fresh);
      }
    };
    const progress = (): void =>
      opts.onProgress?.({ bytesRead: this.bytesRead, totalBytes, records: this.recordsRead });
    for await (const chunk of chunks) {
      opts.signal?.throwIfAborted();
      const bytes = typeof chunk === 'string' ? Buffer.from(chunk, 'utf8') : chunk;
      this.bytesRead += bytes.length;
      parser.push(bytes);
      let rec: StatoilRecord | undefined;
      while ((rec = parser.next()) !== undefined) {
        this.recordsRead++;
        yield rec;
      }
      progress();
    }
    let rec: StatoilRecord | undefined;
    while ((rec = parser.next(true)) !== undefined) {
      this.recordsRead++;
      yield rec;
    }
    parser.finish();
    progress();
  }
}

/** Reads a Statoil/C-CORE JSON file (path), stream or buffer record by record. */
export function readStatoil(source: StatoilSource, options: StatoilReadOptions = {}): StatoilRecordStream {
  return new StatoilRecordStream(source, options);
}

/** All records in memory: for small files and tests (a 1604-record train.json is ~75 MB as Float32). */
export async function readStatoilAll(
  source: StatoilSource,
  options: StatoilReadOptions = {},
): Promise<StatoilRecord[]> {
  const out: StatoilRecord[] = [];
  for await (const r of readStatoil(source, options)) out.push(r);
  return out;
}

function openSource(
  source: StatoilSource,
  opts: StatoilReadOptions,
): { name: string; chunks: AsyncIterable<Uint8Array | string>; totalBytes: number | undefined } {
  if (typeof source === 'string') {
    let size: number;
    try {
      const st = fs.statSync(source);
      if (!st.isFile()) throw new Error('not a regular file');
      size = st.size;
    } catch (err) {
      throw new Error(`${source}: cannot read Statoil JSON: ${err instanceof Error ? err.message : String(err)}`);
    }
    return {
      name: opts.name ?? source,
      chunks: fs.createReadStream(source, { highWaterMark: opts.chunkBytes ?? 1 << 20 }),
      totalBytes: size,
    };
  }
  if (source instanceof Uint8Array) {
    const chunkBytes = opts.chunkBytes ?? 1 << 20;
    return {
      name: opts.name ?? '<buffer>',
      chunks: (async function* () {
        for (let i = 0; i < source.length; i += chunkBytes) yield source.subarray(i, i + chunkBytes);
      })(),
      totalBytes: source.length,
    };
  }
  return { name: opts.name ?? '<stream>', chunks: source, totalBytes: opts.totalBytes };
}

/** Thrown (never escapes) when the buffered bytes end inside a record. */
const NEED_MORE = Symbol('need more bytes');

const enum Ch {
  TAB = 9,
  LF = 10,
  CR = 13,
  SPACE = 32,
  QUOTE = 34,
  PLUS = 43,
  COMMA = 44,
  MINUS = 45,
  DOT = 46,
  D0 = 48,
  D9 = 57,
  COLON = 58,
  E_UP = 69,
  I_UP = 73,
  N_UP = 78,
  LBRACKET = 91,
  BACKSLASH = 92,
  RBRACKET = 93,
  E_LOW = 101,
  F_LOW = 102,
  N_LOW = 110,
  T_LOW = 116,
  LBRACE = 123,
  RBRACE = 125,
}

const POW10 = Float64Array.from({ length: 23 }, (_, i) => Number(`1e${i}`));
/** Buffered bytes of one unfinished record beyond which the input cannot be this format (a record is ~120 kB). */
const MAX_RECORD_BYTES = 64 << 20;
const FLOAT32_MAX = 3.4028234663852886e38;
const KNOWN_FIELDS = ['id', 'band_1', 'band_2', 'inc_angle', 'is_iceberg'] as const;
type KnownField = (typeof KNOWN_FIELDS)[number];

/**
 * The incremental parser. `push` appends bytes; `next` returns the next complete record or
 * undefined when more bytes are needed; `finish` checks the document ended properly.
 */
export class StatoilParser {
  onUnknownField: ((field: string, record: number, id: string | undefined) => void) | undefined;
  private buf: Uint8Array = new Uint8Array(0);
  /** Our own buffer (the caller's chunks are never written to); `buf` is a prefix of it when `owned`. */
  private store: Uint8Array = new Uint8Array(0);
  private owned = false;
  private pos = 0;
  /** File offset of buf[0]. */
  private base = 0;
  /** 0: before '['; 1: before the first element or ']'; 2: after an element; 3: after ']'. */
  private state = 0;
  private recordIndex = 0;
  private labelled: boolean | undefined;
  // Per-record scratch, so errors can name the record's id and the field being parsed.
  private currentId: string | undefined;
  private currentField: string | undefined;
  /** Bytes available when the current record last ran out of input: retry once twice as many are buffered. */
  private retryAt = 0;

  constructor(
    readonly file: string,
    readonly bandLength: number,
    readonly unknownFields: 'error' | 'warn',
    labels: 'auto' | 'required' | 'forbidden',
  ) {
    if (labels === 'required') this.labelled = true;
    if (labels === 'forbidden') this.labelled = false;
  }

  push(bytes: Uint8Array): void {
    const rest = this.buf.length - this.pos;
    if (rest > MAX_RECORD_BYTES) {
      throw this.error(
        this.pos,
        `a record is longer than ${MAX_RECORD_BYTES} bytes (not Statoil records, or a missing '}')`,
        this.state !== 0,
      );
    }
    if (rest === 0) {
      // Nothing pending: parse the caller's chunk in place.
      this.base += this.buf.length;
      this.buf = bytes;
      this.pos = 0;
      this.owned = false;
    } else if (this.owned && this.buf.length + bytes.length <= this.store.length) {
      this.store.set(bytes, this.buf.length);
      this.buf = this.store.subarray(0, this.buf.length + bytes.length);
    } else {
      // Move the unfinished record to the front of a (possibly larger) buffer of our own. Capacity
      // doubles, so tiny chunks cost amortised O(1) copies per byte.
      const need = rest + bytes.length;
      if (this.owned && this.store.length >= need) this.store.copyWithin(0, this.pos, this.buf.length);
      else {
        const grown = new Uint8Array(Math.max(2 * need, 1 << 16));
        grown.set(this.buf.subarray(this.pos), 0);
        this.store = grown;
      }
      this.store.set(bytes, rest);
      this.base += this.pos;
      this.pos = 0;
      this.buf = this.store.subarray(0, need);
      this.owned = true;
    }
  }

  /**
   * The next complete record, or undefined when more bytes are needed. A record that ran out of
   * input is retried only once the buffer has doubled (or `atEnd`), so tiny chunks stay linear.
   */
  next(atEnd = false): StatoilRecord | undefined {
    const b = this.buf;
    if (!atEnd && b.length - this.pos < this.retryAt) return undefined;
    for (;;) {
      let p = this.skipWs(this.pos);
      if (p >= b.length) {
        this.pos = p;
        return undefined;
      }
      const c = b[p]!;
      if (this.state === 0) {
        if (c === 0xef && p === 0 && this.base === 0) {
          // UTF-8 byte order mark.
          if (b.length < 3) return undefined;
          this.pos = 3;
          continue;
        }
        if (c !== Ch.LBRACKET)
          throw this.error(p, `expected '[' (the file is a JSON array of records), found ${describeByte(c)}`, false);
        this.pos = p + 1;
        this.state = 1;
        continue;
      }
      if (this.state === 3) throw this.error(p, `unexpected ${describeByte(c)} after the closing ']'`, false);
      if (c === Ch.RBRACKET) {
        this.pos = p + 1;
        this.state = 3;
        continue;
      }
      if (this.state === 2) {
        if (c !== Ch.COMMA)
          throw this.error(
            p,
            `expected ',' or ']' after record ${this.recordIndex - 1}, found ${describeByte(c)}`,
            false,
          );
        p = this.skipWs(p + 1);
        if (p >= b.length) return undefined; // re-read the comma when more bytes come
        if (b[p] === Ch.RBRACKET) throw this.error(p, `trailing ',' before ']'`, false);
      }
      try {
        const rec = this.parseRecord(p);
        this.state = 2;
        this.recordIndex++;
        this.retryAt = 0;
        return rec;
      } catch (e) {
        if (e === NEED_MORE) {
          this.retryAt = 2 * (b.length - this.pos);
          return undefined;
        }
        throw e;
      }
    }
  }

  finish(): void {
    const p = this.skipWs(this.pos);
    if (this.state === 3 && p >= this.buf.length) return;
    if (this.state === 0 && p >= this.buf.length)
      throw this.error(p, 'empty input (expected a JSON array of records)', false);
    if (this.state === 3) throw this.error(p, `unexpected ${describeByte(this.buf[p]!)} after the closing ']'`, false);
    const inRecord = p < this.buf.length;
    throw new StatoilFormatError(
      this.file,
      inRecord ? this.recordIndex : undefined,
      undefined,
      undefined,
      this.base + this.buf.length,
      inRecord
        ? 'unexpected end of input inside a record (file truncated?)'
        : "unexpected end of input: missing the closing ']'",
    );
  }

  private skipWs(p: number): number {
    const b = this.buf;
    while (p < b.length) {
      const c = b[p]!;
      if (c !== Ch.SPACE && c !== Ch.LF && c !== Ch.CR && c !== Ch.TAB) break;
      p++;
    }
    return p;
  }

  private error(p: number, detail: string, inRecord = true): StatoilFormatError {
    return new StatoilFormatError(
      this.file,
      inRecord ? this.recordIndex : undefined,
      inRecord ? this.currentId : undefined,
      inRecord ? this.currentField : undefined,
      this.base + p,
      detail,
    );
  }

  private parseRecord(start: number): StatoilRecord {
    const b = this.buf;
    this.currentId = undefined;
    this.currentField = undefined;
    let p = start;
    if (b[p] !== Ch.LBRACE) throw this.error(p, `expected a record object '{', found ${describeByte(b[p]!)}`);
    p++;
    let id: string | undefined;
    let band1: Float32Array | undefined;
    let band2: Float32Array | undefined;
    let incAngle: number | null | undefined;
    let hasAngle = false;
    let label: 0 | 1 | undefined;
    let hasLabel = false;
    p = this.ws(p);
    if (b[p] === Ch.RBRACE) {
      p++;
    } else {
      for (;;) {
        p = this.ws(p);
        if (b[p] !== Ch.QUOTE) throw this.error(p, `expected a field name in quotes, found ${describeByte(b[p]!)}`);
        const keyStart = p;
        const [key, afterKey] = this.parseString(p);
        p = this.ws(afterKey);
        if (b[p] !== Ch.COLON)
          throw this.error(p, `expected ':' after field name ${JSON.stringify(key)}, found ${describeByte(b[p]!)}`);
        p = this.ws(p + 1);
        this.currentField = key;
        const known = (KNOWN_FIELDS as readonly string[]).includes(key) ? (key as KnownField) : undefined;
        const seenAlready =
          (known === 'id' && id !== undefined) ||
          (known === 'band_1' && band1 !== undefined) ||
          (known === 'band_2' && band2 !== undefined) ||
          (known === 'inc_angle' && hasAngle) ||
          (known === 'is_iceberg' && hasLabel);
        if (seenAlready) throw this.error(keyStart, `field ${key} appears twice in the record`);
        switch (known) {
          case 'id': {
            if (b[p] !== Ch.QUOTE) {
              const end = this.skipValue(p);
              throw this.error(p, `id must be a string, found ${this.describeValue(p, end)}`);
            }
            [id, p] = this.parseString(p);
            if (id.length === 0) throw this.error(p, 'id is an empty string');
            this.currentId = id;
            break;
          }
          case 'band_1':
          case 'band_2': {
            const arr = new Float32Array(this.bandLength);
            p = this.parseBand(p, arr, key);
            if (known === 'band_1') band1 = arr;
            else band2 = arr;
            break;
          }
          case 'inc_angle': {
            hasAngle = true;
            const c = b[p]!;
            if (c === Ch.QUOTE) {
              const [s, after] = this.parseString(p);
              if (s !== 'na')
                throw this.error(p, `inc_angle must be a number or "na", found the string ${JSON.stringify(s)}`);
              incAngle = null;
              p = after;
            } else if (c === Ch.N_LOW && this.literal(p, 'null')) {
              incAngle = null;
              p += 4;
            } else if (c === Ch.MINUS || (c >= Ch.D0 && c <= Ch.D9)) {
              const [v, after] = this.parseNumber(p);
              if (!Number.isFinite(v)) throw this.error(p, `inc_angle is not finite (${v})`);
              incAngle = v;
              p = after;
            } else {
              const end = this.skipValue(p);
              throw this.error(p, `inc_angle must be a number or "na", found ${this.describeValue(p, end)}`);
            }
            break;
          }
          case 'is_iceberg': {
            hasLabel = true;
            const c = b[p]!;
            const end = this.skipValue(p);
            if ((c === Ch.D0 || c === Ch.D0 + 1) && end === p + 1) label = c === Ch.D0 ? 0 : 1;
            else throw this.error(p, `is_iceberg must be 0 or 1, found ${this.describeValue(p, end)}`);
            p = end;
            break;
          }
          default: {
            const end = this.skipValue(p);
            if (this.unknownFields === 'error') {
              throw this.error(
                keyStart,
                `unknown field ${JSON.stringify(key)} (expected ${KNOWN_FIELDS.join(', ')}; read with unknownFields: 'warn' to skip it)`,
              );
            }
            this.onUnknownField?.(key, this.recordIndex, id);
            p = end;
          }
        }
        this.currentField = undefined;
        p = this.ws(p);
        const c = b[p];
        if (c === Ch.COMMA) {
          p++;
          continue;
        }
        if (c === Ch.RBRACE) {
          p++;
          break;
        }
        throw this.error(p, `expected ',' or '}' after field ${key}, found ${describeByte(c!)}`);
      }
    }
    const missing = [
      id === undefined ? 'id' : undefined,
      band1 === undefined ? 'band_1' : undefined,
      band2 === undefined ? 'band_2' : undefined,
      hasAngle ? undefined : 'inc_angle',
    ].filter((f): f is string => f !== undefined);
    if (missing.length > 0) {
      this.currentField = missing[0];
      throw this.error(start, `missing field${missing.length > 1 ? 's' : ''} ${missing.join(', ')}`);
    }
    if (this.labelled === undefined) this.labelled = hasLabel;
    else if (this.labelled !== hasLabel) {
      this.currentField = 'is_iceberg';
      throw this.error(
        start,
        hasLabel
          ? 'is_iceberg present, but the file is read as unlabelled (test data: earlier records have no label, or labels: forbidden)'
          : 'missing field is_iceberg (labelled data: earlier records have it, or labels: required)',
      );
    }
    this.pos = p;
    const rec: StatoilRecord = { id: id!, band_1: band1!, band_2: band2!, inc_angle: incAngle! };
    if (hasLabel) rec.is_iceberg = label;
    return rec;
  }

  /** Whitespace inside a record: running out of bytes here means the record continues in the next chunk. */
  private ws(p: number): number {
    p = this.skipWs(p);
    if (p >= this.buf.length) throw NEED_MORE;
    return p;
  }

  private literal(p: number, word: string): boolean {
    const b = this.buf;
    if (p + word.length > b.length) throw NEED_MORE;
    for (let i = 0; i < word.length; i++) if (b[p + i] !== word.charCodeAt(i)) return false;
    return true;
  }

  private parseBand(p: number, out: Float32Array, field: string): number {
    const b = this.buf;
    const len = b.length;
    const n = out.length;
    if (b[p] !== Ch.LBRACKET) {
      const end = this.skipValue(p);
      throw this.error(p, `${field} must be an array of ${n} numbers, found ${this.describeValue(p, end)}`);
    }
    p = this.ws(p + 1);
    if (b[p] === Ch.RBRACKET) throw this.error(p, `${field} is empty, expected ${n} numbers`);
    let count = 0;
    // Every read below is bounds-checked first: reading past a typed array's end returns undefined
    // and makes V8 deoptimise the loop (measured: ~3x slower).
    for (;;) {
      let c = 0;
      while (p < len) {
        c = b[p]!;
        if (c !== Ch.SPACE && c !== Ch.LF && c !== Ch.CR && c !== Ch.TAB) break;
        p++;
      }
      if (p >= len) throw NEED_MORE;
      if (c === Ch.MINUS || (c >= Ch.D0 && c <= Ch.D9)) {
        const valueStart = p;
        // Fast path for -?digits(.digits)? with <= 15 significant digits: an exact integer mantissa
        // and one correctly rounded division (Clinger's fast path); anything else takes parseNumber.
        let neg = false;
        if (c === Ch.MINUS) {
          neg = true;
          if (++p >= len) throw NEED_MORE;
          c = b[p]!;
          if (c < Ch.D0 || c > Ch.D9) throw this.badNumber(valueStart, field, count);
        }
        let mant = 0;
        let sig = 0;
        let scale = 0;
        if (c === Ch.D0) {
          if (++p >= len) throw NEED_MORE;
          c = b[p]!;
        } else {
          while (c >= Ch.D0 && c <= Ch.D9) {
            mant = mant * 10 + (c - Ch.D0);
            sig++;
            if (++p >= len) throw NEED_MORE;
            c = b[p]!;
          }
        }
        if (c === Ch.DOT) {
          if (++p >= len) throw NEED_MORE;
          c = b[p]!;
          if (c < Ch.D0 || c > Ch.D9) throw this.badNumber(valueStart, field, count);
          while (c >= Ch.D0 && c <= Ch.D9) {
            mant = mant * 10 + (c - Ch.D0);
            scale++;
            if (mant !== 0) sig++;
            if (++p >= len) throw NEED_MORE;
            c = b[p]!;
          }
        }
        let v: number;
        if (c === Ch.E_LOW || c === Ch.E_UP || sig > 15 || scale > 22) {
          const [x, after] = this.parseNumber(valueStart);
          v = x;
          p = after;
        } else {
          v = scale === 0 ? mant : mant / POW10[scale]!;
          if (neg) v = -v;
        }
        if (count < n) {
          if (!(Math.abs(v) <= FLOAT32_MAX)) {
            throw this.error(
              valueStart,
              `${field}[${count}] = ${this.text(valueStart, p)} is not a finite float32 value`,
            );
          }
          out[count] = v;
        }
        count++;
      } else if (c === Ch.N_UP && this.literal(p, 'NaN')) {
        throw this.error(p, `${field}[${count}] is NaN (band values must be finite dB numbers)`);
      } else if (c === Ch.I_UP && this.literal(p, 'Infinity')) {
        throw this.error(p, `${field}[${count}] is Infinity (band values must be finite dB numbers)`);
      } else {
        const end = this.skipValue(p);
        throw this.error(p, `${field}[${count}] must be a number, found ${this.describeValue(p, end)}`);
      }
      while (p < len) {
        c = b[p]!;
        if (c !== Ch.SPACE && c !== Ch.LF && c !== Ch.CR && c !== Ch.TAB) break;
        p++;
      }
      if (p >= len) throw NEED_MORE;
      if (c === Ch.COMMA) {
        p++;
        continue;
      }
      if (c === Ch.RBRACKET) {
        p++;
        break;
      }
      throw this.error(p, `expected ',' or ']' in ${field} after value ${count - 1}, found ${describeByte(c)}`);
    }
    if (count !== n) throw this.error(p - 1, `${field} has ${count} values, expected ${n} (75 x 75)`);
    return p;
  }

  private badNumber(p: number, field: string, index: number): StatoilFormatError {
    const b = this.buf;
    if (b[p] === Ch.MINUS && b[p + 1] === Ch.I_UP && this.literal(p + 1, 'Infinity')) {
      return this.error(p, `${field}[${index}] is -Infinity (band values must be finite dB numbers)`);
    }
    // The token up to the next delimiter, without re-parsing it (it is malformed).
    let end = p;
    while (end < b.length && end - p < 40) {
      const c = b[end]!;
      if (
        c === Ch.COMMA ||
        c === Ch.RBRACKET ||
        c === Ch.RBRACE ||
        c === Ch.SPACE ||
        c === Ch.LF ||
        c === Ch.CR ||
        c === Ch.TAB
      )
        break;
      end++;
    }
    return this.error(p, `${field}[${index}] is not a JSON number: ${this.text(p, end)}`);
  }

  /** Exact number parse per JSON's grammar (validated here, converted by the engine). */
  private parseNumber(p: number): [number, number] {
    const b = this.buf;
    const start = p;
    const field = this.currentField ?? 'value';
    const digits = (): number => {
      let k = 0;
      while (p < b.length && b[p]! >= Ch.D0 && b[p]! <= Ch.D9) {
        p++;
        k++;
      }
      if (p >= b.length) throw NEED_MORE;
      return k;
    };
    if (b[p] === Ch.MINUS) p++;
    if (p >= b.length) throw NEED_MORE;
    if (b[p] === Ch.D0) p++;
    else if (digits() === 0)
      throw this.error(start, `${field}: malformed number ${this.describeValue(start, this.skipValue(start))}`);
    if (p >= b.length) throw NEED_MORE;
    if (b[p] === Ch.DOT) {
      p++;
      if (digits() === 0) throw this.error(start, `${field}: malformed number (no digits after '.')`);
    }
    if (b[p] === Ch.E_LOW || b[p] === Ch.E_UP) {
      p++;
      if (p >= b.length) throw NEED_MORE;
      if (b[p] === Ch.PLUS || b[p] === Ch.MINUS) p++;
      if (digits() === 0) throw this.error(start, `${field}: malformed number (no digits in the exponent)`);
    }
    return [Number(this.text(start, p)), p];
  }

  private text(start: number, end: number): string {
    return Buffer.from(this.buf.buffer, this.buf.byteOffset + start, end - start).toString('latin1');
  }

  private parseString(p: number): [string, number] {
    const b = this.buf;
    const start = p + 1;
    let q = start;
    let escaped = false;
    for (;;) {
      if (q >= b.length) throw NEED_MORE;
      const c = b[q]!;
      if (c === Ch.QUOTE) break;
      if (c === Ch.BACKSLASH) {
        escaped = true;
        q += 2;
        continue;
      }
      if (c < 0x20) throw this.error(q, 'control character inside a string (unterminated string?)');
      q++;
    }
    const raw = Buffer.from(b.buffer, b.byteOffset + start, q - start).toString('utf8');
    if (!escaped) return [raw, q + 1];
    try {
      return [JSON.parse(`"${raw}"`) as string, q + 1];
    } catch {
      throw this.error(p, `invalid escape in string ${JSON.stringify(raw.slice(0, 40))}`);
    }
  }

  /** Skips any JSON value (for unknown fields and for error messages); returns the end offset. */
  private skipValue(p: number): number {
    const b = this.buf;
    const c = b[p];
    if (c === undefined) throw NEED_MORE;
    if (c === Ch.QUOTE) return this.parseString(p)[1];
    if (c === Ch.LBRACE || c === Ch.LBRACKET) {
      const close = c === Ch.LBRACE ? Ch.RBRACE : Ch.RBRACKET;
      p = this.ws(p + 1);
      if (b[p] === close) return p + 1;
      for (;;) {
        p = this.ws(p);
        if (close === Ch.RBRACE) {
          if (b[p] !== Ch.QUOTE) throw this.error(p, `expected a field name in quotes, found ${describeByte(b[p]!)}`);
          p = this.ws(this.parseString(p)[1]);
          if (b[p] !== Ch.COLON) throw this.error(p, `expected ':', found ${describeByte(b[p]!)}`);
          p = this.ws(p + 1);
        }
        p = this.ws(this.skipValue(p));
        if (b[p] === Ch.COMMA) {
          p++;
          continue;
        }
        if (b[p] === close) return p + 1;
        throw this.error(p, `expected ',' or '${String.fromCharCode(close)}', found ${describeByte(b[p]!)}`);
      }
    }
    if (c === Ch.MINUS || (c >= Ch.D0 && c <= Ch.D9)) {
      // Lenient here: only used to delimit a value, NaN/Infinity/malformed numbers are reported by callers.
      if (c === Ch.MINUS && b[p + 1] === Ch.I_UP && this.literal(p + 1, 'Infinity')) return p + 9;
      return this.parseNumber(p)[1];
    }
    for (const word of ['true', 'false', 'null', 'NaN', 'Infinity']) {
      if (c === word.charCodeAt(0) && this.literal(p, word)) return p + word.length;
    }
    throw this.error(p, `malformed JSON: unexpected ${describeByte(c)}`);
  }

  private describeValue(start: number, end: number): string {
    const c = this.buf[start];
    const kind =
      c === Ch.QUOTE
        ? 'a string'
        : c === Ch.LBRACE
          ? 'an object'
          : c === Ch.LBRACKET
            ? 'an array'
            : c === Ch.N_LOW
              ? 'null'
              : c === Ch.T_LOW || c === Ch.F_LOW
                ? 'a boolean'
                : 'the value';
    const t = this.text(start, Math.min(end, start + 40));
    return `${kind} ${t}${end - start > 40 ? '…' : ''}`;
  }
}

function describeByte(c: number | undefined): string {
  if (c === undefined) return 'end of input';
  if (c >= 0x20 && c < 0x7f) return `'${String.fromCharCode(c)}'`;
  return `byte 0x${c.toString(16).padStart(2, '0')}`;
}
