/**
 * Pixels of the explanation and patch renderers, apart from the canvas so they can be unit-tested:
 * a percentile stretch of a band (in dB, as SAR patches are shown), a heat colour ramp, and the
 * size of a PNG read from its header.
 */

export interface Stretch {
  low: number;
  high: number;
}

/** The 2nd–98th percentile of the finite values (widened by ±1 when flat), or null when none is finite. */
export function percentileStretch(values: ArrayLike<number>, lowPct = 2, highPct = 98): Stretch | null {
  const finite: number[] = [];
  for (let i = 0; i < values.length; i++) if (Number.isFinite(values[i])) finite.push(values[i]!);
  if (!finite.length) return null;
  finite.sort((a, b) => a - b);
  const at = (p: number): number => finite[Math.round((p / 100) * (finite.length - 1))]!;
  let low = at(lowPct);
  let high = at(highPct);
  if (!(high > low)) [low, high] = [low - 1, high + 1];
  return { low, high };
}

/** 0…255 grey level of a value under a stretch (clamped). */
export function greyLevel(value: number, s: Stretch): number {
  return Math.max(0, Math.min(255, Math.round(((value - s.low) / (s.high - s.low)) * 255)));
}

/** A black-body-like ramp (dark red → orange → yellow → white) for heat in [0, 1]. */
export function heatColour(heat: number): [number, number, number] {
  const t = Math.max(0, Math.min(1, Number.isFinite(heat) ? heat : 0));
  return [
    Math.round(255 * Math.min(1, t * 2.2 + 0.2)),
    Math.round(255 * Math.max(0, Math.min(1, (t - 0.35) * 2))),
    Math.round(255 * Math.max(0, (t - 0.75) * 4)),
  ];
}

/**
 * RGBA pixels of a background band (greyscale under its stretch) with the heatmap blended over it:
 * heat 0 leaves the patch, heat 1 covers it at `opacity`. Non-finite background pixels are transparent.
 */
export function overlayPixels(
  background: ArrayLike<number>,
  heatmap: ArrayLike<number> | null,
  stretch: Stretch | null,
  opacity = 0.65,
): Uint8ClampedArray {
  const out = new Uint8ClampedArray(background.length * 4);
  for (let i = 0; i < background.length; i++) {
    const v = background[i]!;
    if (!Number.isFinite(v) || !stretch) continue;
    const g = greyLevel(v, stretch);
    let [r, gg, b] = [g, g, g];
    if (heatmap) {
      const heat = Math.max(0, Math.min(1, heatmap[i] ?? 0));
      const a = opacity * heat;
      const [hr, hg, hb] = heatColour(heat);
      [r, gg, b] = [g * (1 - a) + hr * a, g * (1 - a) + hg * a, g * (1 - a) + hb * a];
    }
    out.set([r, gg, b, 255], i * 4);
  }
  return out;
}

const PNG_SIGNATURE = [137, 80, 78, 71, 13, 10, 26, 10];

/** Width and height of a base64 PNG from its IHDR chunk, or null when the text is not a PNG. */
export function pngSize(base64: string): { width: number; height: number } | null {
  const head = base64.replace(/\s+/g, '').slice(0, 32);
  if (!/^[A-Za-z0-9+/]{32}$/.test(head)) return null;
  const bytes = Uint8Array.from(atob(head), (c) => c.charCodeAt(0));
  if (PNG_SIGNATURE.some((b, i) => bytes[i] !== b)) return null;
  if (String.fromCharCode(...bytes.slice(12, 16)) !== 'IHDR') return null;
  const view = new DataView(bytes.buffer);
  return { width: view.getUint32(16), height: view.getUint32(20) };
}

/** True when the text is plain base64 (what a data: URL may carry, nothing that could close the attribute). */
export function isBase64(text: string): boolean {
  return /^[A-Za-z0-9+/\s]*={0,2}\s*$/.test(text) && text.trim().length > 0;
}
