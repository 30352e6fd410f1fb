import * as path from 'node:path';

/**
 * The native half of request decoding (kernel-services/native/json_tensor.cc, built by
 * scripts/setup.sh): a whole nested list of numbers of a known shape read into a Float32Array in
 * one call, each number as `Math.fround(Number(text))`. It answers only success (the index after
 * the list) or -1; the JavaScript decoder then reads the same bytes and names what is wrong. Where
 * the addon is not built, requests are decoded in JavaScript alone, with the same results.
 */
export interface NativeDecoder {
  decodeNumberTensor(
    bytes: Uint8Array,
    start: number,
    shape: readonly number[],
    out: Float32Array,
    offset: number,
  ): number;
}

const ADDON = path.join(__dirname, '..', '..', 'native', 'build', 'Release', 'floe_native.node');

let loaded: NativeDecoder | null | undefined;
let enabled = process.env.FLOE_NATIVE_DECODE !== '0';

/** The addon, loaded once; null where it is not built. */
function addon(): NativeDecoder | null {
  if (loaded === undefined) {
    try {
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      loaded = require(ADDON) as NativeDecoder;
    } catch {
      loaded = null;
    }
  }
  return loaded;
}

/** The addon when it is built and not turned off (FLOE_NATIVE_DECODE=0 or `useNativeDecoding(false)`). */
export function nativeDecoder(): NativeDecoder | null {
  return enabled ? addon() : null;
}

/** Whether the addon is built and loads (whatever `useNativeDecoding` says). */
export function nativeDecoderBuilt(): boolean {
  return addon() !== null;
}

/** Turns the native decoder on or off for this process (tests compare both); returns the previous setting. */
export function useNativeDecoding(on: boolean): boolean {
  const was = enabled;
  enabled = on;
  return was;
}
