import { ABLATION_MIME, DRIFT_MIME, EXPLANATION_MIME, SAR_MIME, SEARCH_MIME, TRAINING_MIME } from '@floe/schema';
import { describe, expect, it } from 'vitest';
import { driftBundle } from '../../../kernel-services/src/monitoring/display';
import { sarPatchBundle } from '../../../kernel-services/src/show/sar';
import { encodePng } from '../../../kernel-services/src/training/png';
import { trainingBundle } from '../../../kernel-services/src/training/live';
import { validationReportBundle } from '../../../kernel-services/src/validation/render';
import {
  ablationPayload,
  driftReport,
  explanationPayload,
  sarPatch,
  searchPayload,
  trainingState,
  validationReport,
} from '../../../tests/browser/floe-samples';
import { decodePayload, fieldName, KINDS, kindOf, VALIDATION_MIME } from './decode';
import { downsampleMinMax, tableWindow, toPoints, type Point } from './downsample';
import { greyLevel, heatColour, isBase64, overlayPixels, percentileStretch, pngSize } from './raster';

// The DOM side of the renderers is tested in Chromium (tests/browser/renderers.spec.ts); here the
// payload checks, downsampling and pixel maths, and the contract with the kernel's bundle builders.

describe('the kernel bundles decode with the renderers', () => {
  it('accepts what the library displays, for every Floe MIME type', () => {
    const bundles: [string, Record<string, unknown>][] = [
      [TRAINING_MIME, trainingBundle(trainingState({ epochs: 20, done: 20 }))],
      [TRAINING_MIME, trainingBundle(trainingState({ epochs: 20, done: 3 }))],
      [DRIFT_MIME, driftBundle(driftReport())],
      [VALIDATION_MIME, validationReportBundle(validationReport())],
      [SAR_MIME, sarPatchBundle(sarPatch(), { display: false, title: 'iceberg' })],
      [SEARCH_MIME, { [SEARCH_MIME]: searchPayload() }],
      [ABLATION_MIME, { [ABLATION_MIME]: ablationPayload() }],
      [EXPLANATION_MIME, { [EXPLANATION_MIME]: explanationPayload() }],
    ];
    for (const [mime, bundle] of bundles) {
      const name = kindOf(mime);
      expect(name, mime).not.toBeNull();
      const decoded = decodePayload(KINDS[name!], bundle[mime]);
      expect(decoded.state === 'ok' ? 'ok' : JSON.stringify(decoded), mime).toBe('ok');
    }
    expect(
      Object.values(KINDS)
        .map((k) => k.mimeType)
        .sort(),
    ).toEqual(
      [ABLATION_MIME, DRIFT_MIME, EXPLANATION_MIME, SAR_MIME, SEARCH_MIME, TRAINING_MIME, VALIDATION_MIME].sort(),
    );
    expect(kindOf('application/vnd.floe.unknown+json')).toBeNull();
  });
});

describe('decodePayload', () => {
  const training = (): Record<string, unknown> =>
    JSON.parse(JSON.stringify(trainingBundle(trainingState({ epochs: 5, done: 2 }))[TRAINING_MIME]));

  it('refuses a major it does not know, without reading the rest', () => {
    expect(decodePayload(KINDS.training, { version_major: 2, anything: true })).toEqual({
      state: 'unknown-major',
      major: 2,
      known: 1,
    });
  });

  it('names a missing or malformed version_major', () => {
    const { version_major: _, ...rest } = training();
    expect(decodePayload(KINDS.training, rest)).toEqual({
      state: 'invalid',
      problems: ['version_major: missing (every Floe payload names its major version)'],
    });
    expect(decodePayload(KINDS.training, { ...rest, version_major: '1' })).toMatchObject({
      state: 'invalid',
      problems: ['version_major: expected a whole number, got "1"'],
    });
  });

  it('names the field that is wrong, with array indices', () => {
    const payload = training();
    (payload.run as Record<string, unknown>).name = 42;
    (payload.epochs as Record<string, unknown>[])[1]!.loss = 'high';
    const decoded = decodePayload(KINDS.training, payload);
    expect(decoded.state).toBe('invalid');
    const problems = decoded.state === 'invalid' ? decoded.problems : [];
    expect(problems.some((p) => p.startsWith('run.name: '))).toBe(true);
    expect(problems.some((p) => p.startsWith('epochs[1].loss: '))).toBe(true);
  });

  it('checks what the schema cannot: array lengths against the shape', () => {
    const payload = explanationPayload();
    payload.heatmap = payload.heatmap.slice(0, 100);
    expect(decodePayload(KINDS.explanation, payload)).toEqual({
      state: 'invalid',
      problems: ['heatmap: has 100 values, expected width × height = 5625'],
    });
    const t = training();
    ((t.curves as { loss: { values: unknown[] }[] }).loss[0]!.values as unknown[]).push(0.1);
    expect(decodePayload(KINDS.training, t)).toMatchObject({
      state: 'invalid',
      problems: ['curves.loss[0].values: has 3 values, expected curves.epoch.length = 2'],
    });
  });

  it('says what it got when the payload is not an object, and caps long problem lists', () => {
    expect(decodePayload(KINDS.sar, 'hello')).toEqual({
      state: 'invalid',
      problems: ['(payload): expected a JSON object, got string'],
    });
    expect(decodePayload(KINDS.sar, null)).toMatchObject({ problems: ['(payload): expected a JSON object, got null'] });
    const decoded = decodePayload(KINDS.validation, { version_major: 1 });
    expect(decoded.state).toBe('invalid');
    if (decoded.state === 'invalid') {
      expect(decoded.problems.length).toBeLessThanOrEqual(9);
      expect(decoded.problems.at(-1)).toMatch(/^… and \d+ more problems$/);
    }
    expect(fieldName([])).toBe('(payload)');
    expect(fieldName(['windows', 3, 'bands', 0, 'psi'])).toBe('windows[3].bands[0].psi');
  });
});

describe('downsampleMinMax', () => {
  it('keeps first, last, and every bucket extreme of a long series', () => {
    const points: Point[] = Array.from({ length: 20_000 }, (_, i) => [i + 1, Math.sin(i / 50)]);
    points[12_345] = [12_346, 9]; // a spike a stride would skip
    points[777] = [778, -9];
    const out = downsampleMinMax(points, 600);
    expect(out.length).toBeLessThanOrEqual(600);
    expect(out.length).toBeGreaterThan(500);
    expect(out[0]).toEqual(points[0]);
    expect(out.at(-1)).toEqual(points.at(-1));
    expect(out).toContainEqual([12_346, 9]);
    expect(out).toContainEqual([778, -9]);
    for (let i = 1; i < out.length; i++) expect(out[i]![0]).toBeGreaterThan(out[i - 1]![0]);
  });

  it('leaves short series alone and refuses a silly budget', () => {
    const points: Point[] = [
      [1, 2],
      [2, 3],
    ];
    expect(downsampleMinMax(points, 600)).toEqual(points);
    expect(() => downsampleMinMax(points, 3)).toThrow(/at least 4/);
  });

  it('builds points skipping gaps and lists the head and tail of long tables', () => {
    expect(toPoints([0.5, null, NaN, 0.25], [1, 2, 3, 4])).toEqual([
      [1, 0.5],
      [4, 0.25],
    ]);
    expect(toPoints([3, 4])).toEqual([
      [1, 3],
      [2, 4],
    ]);
    expect(tableWindow(4, 2, 2)).toEqual({ rows: [0, 1, 2, 3], hidden: 0 });
    expect(tableWindow(5, 2, 2)).toEqual({ rows: [0, 1, 3, 4], hidden: 1 });
    expect(tableWindow(1000, 2, 3)).toEqual({ rows: [0, 1, 997, 998, 999], hidden: 995 });
  });
});

describe('pixels', () => {
  it('stretches a band between its 2nd and 98th percentiles, ignoring NaN', () => {
    const values = Float32Array.from({ length: 101 }, (_, i) => i - 50);
    values[3] = NaN;
    const s = percentileStretch(values)!;
    expect(s.low).toBeCloseTo(-48, 0);
    expect(s.high).toBeCloseTo(48, 0);
    expect(greyLevel(-1000, s)).toBe(0);
    expect(greyLevel(1000, s)).toBe(255);
    expect(greyLevel(0, s)).toBe(128);
    expect(percentileStretch([NaN, Infinity])).toBeNull();
    expect(percentileStretch([4, 4, 4])).toEqual({ low: 3, high: 5 });
  });

  it('blends heat over the grey patch and leaves non-finite pixels transparent', () => {
    const s = { low: 0, high: 1 };
    const px = overlayPixels([0.5, NaN, 0.5], [0, 0, 1], s);
    expect(Array.from(px.slice(0, 4))).toEqual([128, 128, 128, 255]);
    expect(px[7]).toBe(0);
    const hot = heatColour(1);
    expect(px[8]).toBe(Math.round(128 * 0.35 + hot[0] * 0.65));
    expect(heatColour(0)[2]).toBe(0);
    expect(heatColour(NaN)).toEqual(heatColour(0));
  });

  it('reads a PNG size from its header and refuses text that is not base64', () => {
    const png = encodePng(7, 3, new Uint8Array(7 * 3 * 4)).toString('base64');
    expect(pngSize(png)).toEqual({ width: 7, height: 3 });
    expect(pngSize(Buffer.from('GIF89a-not-a-png-at-all-really!!').toString('base64'))).toBeNull();
    expect(isBase64(png)).toBe(true);
    expect(isBase64('"><img src=x onerror=alert(1)>')).toBe(false);
    expect(isBase64('')).toBe(false);
  });
});
