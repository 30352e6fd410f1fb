/**
 * TFRecord files of `tf.train.Example` protos, written without TensorFlow.
 *
 * Framing per record: uint64 length (LE), uint32 masked CRC32C of the length bytes, the bytes,
 * uint32 masked CRC32C of the bytes; mask = rotate-right-15 of the CRC plus 0xa282ead8.
 * Example proto (tensorflow/core/example/{example,feature}.proto):
 *   Example { Features features = 1 }  Features { map<string, Feature> feature = 1 }
 *   Feature { oneof { BytesList bytes_list = 1; FloatList float_list = 2; Int64List int64_list = 3 } }
 *   BytesList { repeated bytes value = 1 }  FloatList { repeated float value = 1 [packed] }
 *   Int64List { repeated int64 value = 1 [packed] }
 */

const CRC32C_TABLE = (() => {
  // Castagnoli polynomial, reflected; 8 tables for slicing-by-8.
  const tables = Array.from({ length: 8 }, () => new Uint32Array(256));
  for (let i = 0; i < 256; i++) {
    let c = i;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0x82f63b78 : c >>> 1;
    tables[0]![i] = c >>> 0;
  }
  for (let i = 0; i < 256; i++) {
    for (let t = 1; t < 8; t++) tables[t]![i] = (tables[t - 1]![i]! >>> 8) ^ tables[0]![tables[t - 1]![i]! & 0xff]!;
  }
  return tables;
})();

export function crc32c(bytes: Uint8Array, crc = 0): number {
  const [t0, t1, t2, t3, t4, t5, t6, t7] = CRC32C_TABLE as [
    Uint32Array,
    Uint32Array,
    Uint32Array,
    Uint32Array,
    Uint32Array,
    Uint32Array,
    Uint32Array,
    Uint32Array,
  ];
  let c = ~crc >>> 0;
  let i = 0;
  const n = bytes.length;
  for (; i + 8 <= n; i += 8) {
    const a = (c ^ (bytes[i]! | (bytes[i + 1]! << 8) | (bytes[i + 2]! << 16) | (bytes[i + 3]! << 24))) >>> 0;
    c =
      t7[a & 0xff]! ^
      t6[(a >>> 8) & 0xff]! ^
      t5[(a >>> 16) & 0xff]! ^
      t4[a >>> 24]! ^
      t3[bytes[i + 4]!]! ^
      t2[bytes[i + 5]!]! ^
      t1[bytes[i + 6]!]! ^
      t0[bytes[i + 7]!]!;
  }
  for (; i < n; i++) c = t0[(c ^ bytes[i]!) & 0xff]! ^ (c >>> 8);
  return ~c >>> 0;
}

export function maskedCrc32c(bytes: Uint8Array): number {
  const c = crc32c(bytes);
  return (((c >>> 15) | (c << 17)) + 0xa282ead8) >>> 0;
}

/** Frames one record (length, masked CRCs). */
export function frameRecord(data: Uint8Array): Buffer {
  const out = Buffer.allocUnsafe(12 + data.length + 4);
  out.writeBigUInt64LE(BigInt(data.length), 0);
  out.writeUInt32LE(maskedCrc32c(out.subarray(0, 8)), 8);
  out.set(data, 12);
  out.writeUInt32LE(maskedCrc32c(data), 12 + data.length);
  return out;
}

/** Reads framed records back, checking both CRCs (used by tests and `floe fs export --check`). */
export function* readRecords(file: Uint8Array): Generator<Uint8Array> {
  const buf = Buffer.from(file.buffer, file.byteOffset, file.byteLength);
  let pos = 0;
  let index = 0;
  while (pos < buf.length) {
    if (pos + 12 > buf.length) throw new Error(`TFRecord record ${index}: truncated header at byte ${pos}`);
    const len = Number(buf.readBigUInt64LE(pos));
    if (buf.readUInt32LE(pos + 8) !== maskedCrc32c(buf.subarray(pos, pos + 8)))
      throw new Error(`TFRecord record ${index}: length CRC mismatch`);
    const data = buf.subarray(pos + 12, pos + 12 + len);
    if (data.length !== len || pos + 16 + len > buf.length) throw new Error(`TFRecord record ${index}: truncated data`);
    if (buf.readUInt32LE(pos + 12 + len) !== maskedCrc32c(data))
      throw new Error(`TFRecord record ${index}: data CRC mismatch`);
    yield data;
    pos += 16 + len;
    index++;
  }
}

/** A feature value for an Example: floats, int64s or byte strings. */
export type ExampleFeature =
  | { kind: 'float'; values: ArrayLike<number> }
  | { kind: 'int64'; values: ArrayLike<number | bigint> }
  | { kind: 'bytes'; values: (Uint8Array | string)[] };

class ProtoWriter {
  private buf = Buffer.allocUnsafe(1024);
  pos = 0;

  private ensure(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.pos + n) size *= 2;
    const next = Buffer.allocUnsafe(size);
    this.buf.copy(next, 0, 0, this.pos);
    this.buf = next;
  }

  varint(v: number | bigint): void {
    this.ensure(10);
    let x = BigInt.asUintN(64, BigInt(v));
    if (typeof v === 'number' && v >= 0 && v < 2 ** 31) {
      let n = v;
      while (n > 0x7f) {
        this.buf[this.pos++] = (n & 0x7f) | 0x80;
        n >>>= 7;
      }
      this.buf[this.pos++] = n;
      return;
    }
    while (x > 0x7fn) {
      this.buf[this.pos++] = Number(x & 0x7fn) | 0x80;
      x >>= 7n;
    }
    this.buf[this.pos++] = Number(x);
  }

  tag(field: number, wire: number): void {
    this.varint((field << 3) | wire);
  }

  bytes(field: number, data: Uint8Array): void {
    this.tag(field, 2);
    this.varint(data.length);
    this.ensure(data.length);
    this.buf.set(data, this.pos);
    this.pos += data.length;
  }

  floatsPacked(field: number, values: ArrayLike<number>): void {
    this.tag(field, 2);
    this.varint(values.length * 4);
    this.ensure(values.length * 4);
    const aligned = (this.buf.byteOffset + this.pos) % 4 === 0;
    if (aligned && values instanceof Float32Array) {
      // Little-endian hosts: the float32 bytes are already the wire format.
      this.buf.set(new Uint8Array(values.buffer, values.byteOffset, values.length * 4), this.pos);
      this.pos += values.length * 4;
    } else {
      for (let i = 0; i < values.length; i++) {
        this.buf.writeFloatLE(values[i]!, this.pos);
        this.pos += 4;
      }
    }
  }

  result(): Buffer {
    return this.buf.subarray(0, this.pos);
  }
}

function encodeFeature(f: ExampleFeature): Buffer {
  const list = new ProtoWriter();
  if (f.kind === 'float') list.floatsPacked(1, f.values);
  else if (f.kind === 'int64') {
    const inner = new ProtoWriter();
    for (let i = 0; i < f.values.length; i++) inner.varint(f.values[i]!);
    list.bytes(1, inner.result());
  } else for (const v of f.values) list.bytes(1, typeof v === 'string' ? Buffer.from(v, 'utf8') : v);
  const feature = new ProtoWriter();
  feature.bytes(f.kind === 'bytes' ? 1 : f.kind === 'float' ? 2 : 3, list.result());
  return feature.result();
}

/** Serialises a tf.train.Example. Features are written in name order (deterministic bytes). */
export function encodeExample(features: Record<string, ExampleFeature>): Buffer {
  const map = new ProtoWriter();
  for (const name of Object.keys(features).sort()) {
    const entry = new ProtoWriter();
    entry.bytes(1, Buffer.from(name, 'utf8'));
    entry.bytes(2, encodeFeature(features[name]!));
    map.bytes(1, entry.result());
  }
  const example = new ProtoWriter();
  example.bytes(1, map.result());
  return example.result();
}
