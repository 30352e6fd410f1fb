import {
  ABLATION_MIME,
  AblationBundle,
  DRIFT_MIME,
  DriftPayload,
  EXPLANATION_MIME,
  ExplanationPayload,
  MIME_PREFIX,
  SAR_MIME,
  SarPayload,
  SEARCH_MIME,
  SearchBundle,
  TRAINING_MIME,
  TrainingPayload,
  ValidationReport,
} from '@floe/schema';
import type { z } from 'zod';

/**
 * Payload checks of the Floe MIME renderers, apart from the DOM so they can be unit-tested: the major
 * version first (a major this build does not know is refused, never guessed at), then the zod schema
 * of `@floe/schema`, then what a schema cannot say (array lengths that must match a shape).
 */

export const VALIDATION_MIME = `${MIME_PREFIX}validation+json` as const;

export interface PayloadKind<T> {
  mimeType: string;
  /** What the output shows, for messages ("training progress", "drift report"). */
  label: string;
  /** The major version this build renders. */
  major: number;
  schema: z.ZodType<T>;
  /** Consistency checks beyond the schema; each problem names its field. */
  check?: (payload: T) => string[];
}

function sameLength(field: string, actual: number, expected: number, what: string): string[] {
  return actual === expected ? [] : [`${field}: has ${actual} values, expected ${what} = ${expected}`];
}

export const KINDS = {
  training: {
    mimeType: TRAINING_MIME,
    label: 'training progress',
    major: 1,
    schema: TrainingPayload,
    check: (p: TrainingPayload) => [
      ...p.curves.loss.flatMap((s, i) =>
        sameLength(`curves.loss[${i}].values`, s.values.length, p.curves.epoch.length, 'curves.epoch.length'),
      ),
      ...p.curves.accuracy.flatMap((s, i) =>
        sameLength(`curves.accuracy[${i}].values`, s.values.length, p.curves.epoch.length, 'curves.epoch.length'),
      ),
    ],
  } satisfies PayloadKind<TrainingPayload>,
  explanation: {
    mimeType: EXPLANATION_MIME,
    label: 'explanation',
    major: 1,
    schema: ExplanationPayload,
    check: (p: ExplanationPayload) => [
      ...sameLength('heatmap', p.heatmap.length, p.width * p.height, 'width × height'),
      ...sameLength('background', p.background.length, p.width * p.height, 'width × height'),
    ],
  } satisfies PayloadKind<ExplanationPayload>,
  search: {
    mimeType: SEARCH_MIME,
    label: 'hyperparameter search',
    major: 1,
    schema: SearchBundle,
  } satisfies PayloadKind<SearchBundle>,
  ablation: {
    mimeType: ABLATION_MIME,
    label: 'ablation study',
    major: 1,
    schema: AblationBundle,
  } satisfies PayloadKind<AblationBundle>,
  validation: {
    mimeType: VALIDATION_MIME,
    label: 'validation report',
    major: 1,
    schema: ValidationReport,
  } satisfies PayloadKind<ValidationReport>,
  drift: {
    mimeType: DRIFT_MIME,
    label: 'drift report',
    major: 1,
    schema: DriftPayload,
  } satisfies PayloadKind<DriftPayload>,
  sar: {
    mimeType: SAR_MIME,
    label: 'SAR patch grid',
    major: 1,
    schema: SarPayload,
  } satisfies PayloadKind<SarPayload>,
} as const;

export type KindName = keyof typeof KINDS;

/** The kind a MIME type belongs to, or null for a type that is not Floe's. */
export function kindOf(mimeType: string): KindName | null {
  for (const [name, kind] of Object.entries(KINDS)) if (kind.mimeType === mimeType) return name as KindName;
  return null;
}

export type Decoded<T> =
  | { state: 'ok'; payload: T }
  /** A major this build does not render: show the bundle's fallback. */
  | { state: 'unknown-major'; major: number; known: number }
  /** Not a payload of this kind; each problem names its field (`run.name: …`). */
  | { state: 'invalid'; problems: string[] };

/** A zod issue path as a field name: `epochs[3].loss`. */
export function fieldName(path: readonly PropertyKey[]): string {
  let out = '';
  for (const part of path) {
    if (typeof part === 'number') out += `[${part}]`;
    else out += out ? `.${String(part)}` : String(part);
  }
  return out || '(payload)';
}

const MAX_PROBLEMS = 8;

export function decodePayload<T>(kind: PayloadKind<T>, data: unknown): Decoded<T> {
  if (data === null || typeof data !== 'object' || Array.isArray(data)) {
    const got = data === null ? 'null' : Array.isArray(data) ? 'an array' : typeof data;
    return { state: 'invalid', problems: [`(payload): expected a JSON object, got ${got}`] };
  }
  const major = (data as { version_major?: unknown }).version_major;
  if (major === undefined)
    return { state: 'invalid', problems: ['version_major: missing (every Floe payload names its major version)'] };
  if (typeof major !== 'number' || !Number.isInteger(major) || major < 0)
    return { state: 'invalid', problems: [`version_major: expected a whole number, got ${JSON.stringify(major)}`] };
  if (major !== kind.major) return { state: 'unknown-major', major, known: kind.major };
  const parsed = kind.schema.safeParse(data);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => `${fieldName(issue.path)}: ${issue.message}`);
    return { state: 'invalid', problems: clipProblems(problems) };
  }
  const more = kind.check?.(parsed.data) ?? [];
  if (more.length) return { state: 'invalid', problems: clipProblems(more) };
  return { state: 'ok', payload: parsed.data };
}

function clipProblems(problems: string[]): string[] {
  if (problems.length <= MAX_PROBLEMS) return problems;
  return [...problems.slice(0, MAX_PROBLEMS), `… and ${problems.length - MAX_PROBLEMS} more problems`];
}
