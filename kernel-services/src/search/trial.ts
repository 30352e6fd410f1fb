/**
 * The trial function contract. A trial function is ordinary TypeScript:
 *
 * ```ts
 * export async function lenetTrial(params: { lr: number; dropout: number }, reporter: TrialReporter) {
 *   for (let epoch = 1; epoch <= 10; epoch++) {
 *     const acc = await trainOneEpoch(params);
 *     reporter.report(epoch, acc); // heartbeat + metric; throws TrialStopped once the driver says stop
 *   }
 *   return finalAccuracy;
 * }
 * ```
 *
 * Worker processes load it by module path and export name (`TrialFunctionRef`), so it must live in a
 * file (`.js`, or `.ts` — transpiled on load), not only in a notebook cell.
 */
import * as path from 'node:path';
import type { TrialParams } from '@floe/schema';
import { registerTypeScript } from './ts-require';

export interface TrialReporter {
  /**
   * Reports the metric after a step (epoch). It is also the trial's heartbeat. Throws `TrialStopped`
   * when the driver has asked this trial to stop (early stopping or a search stop): let it propagate,
   * or catch it to clean up and return.
   */
  report(step: number, value: number): void;
  /** True once a stop was requested; for trial functions that prefer polling to exceptions. */
  readonly stopRequested: boolean;
  /** Aborted when a stop is requested (pass it to long waits). */
  readonly signal: AbortSignal;
  /** Which trial this is: seed it with `seed` for reproducible results. */
  readonly trial: { searchId: number; number: number; attempt: number; seed: number; budget: number | null };
}

export type TrialFunction<P extends TrialParams = TrialParams> = (
  params: P,
  reporter: TrialReporter,
) => Promise<number | void> | number | void;

/** Where a worker finds the trial function: an absolute module path (or package name) and an export. */
export interface TrialFunctionRef {
  module: string;
  export: string;
}

/** Thrown by `report` once the trial was told to stop. */
export class TrialStopped extends Error {
  override name = 'TrialStopped';
  constructor(readonly reason: string) {
    super(`trial stopped: ${reason}`);
  }
}

export class TrialFunctionError extends Error {
  override name = 'TrialFunctionError';
}

/** Checks a ref and makes a relative module path absolute (against `base`, default the cwd). */
export function resolveTrialRef(ref: TrialFunctionRef, base = process.cwd()): TrialFunctionRef {
  if (
    !ref ||
    typeof ref.module !== 'string' ||
    ref.module === '' ||
    typeof ref.export !== 'string' ||
    ref.export === ''
  ) {
    throw new TrialFunctionError(
      `trial function: give { module: '<path or package>', export: '<name>' }, got ${JSON.stringify(ref)}`,
    );
  }
  const relative = ref.module.startsWith('./') || ref.module.startsWith('../');
  return { module: relative ? path.resolve(base, ref.module) : ref.module, export: ref.export };
}

const cache = new Map<string, TrialFunction>();

/** Loads a trial function in this process (workers call this; TypeScript files are transpiled on load). */
export function loadTrialFunction(ref: TrialFunctionRef): TrialFunction {
  const key = `${ref.module}#${ref.export}`;
  const hit = cache.get(key);
  if (hit) return hit;
  if (/\.(c|m)?tsx?$/.test(ref.module)) registerTypeScript();
  let mod: Record<string, unknown>;
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    mod = require(ref.module) as Record<string, unknown>;
  } catch (err) {
    throw new TrialFunctionError(`trial function: cannot load module '${ref.module}': ${(err as Error).message}`);
  }
  const fn = mod[ref.export];
  if (typeof fn !== 'function') {
    const names = Object.keys(mod).filter((k) => typeof mod[k] === 'function');
    throw new TrialFunctionError(
      `trial function: module '${ref.module}' has no exported function '${ref.export}' (functions: ${names.join(', ') || 'none'})`,
    );
  }
  cache.set(key, fn as TrialFunction);
  return fn as TrialFunction;
}

/** What a worker tells the driver when an attempt ends. */
export type TrialOutcome =
  | {
      kind: 'finished';
      /** The function's return value; for a stopped trial (or a void return) the last reported value. */
      metric: number | null;
      stopped: boolean;
      stopReason: string | null;
      steps: number;
      busyMs: number;
    }
  | { kind: 'failed'; error: string; crashed: boolean; busyMs: number };

export interface RunTrialHooks {
  metric(step: number, value: number): void;
}

/**
 * Runs one attempt of a trial function in this process and turns whatever happens into an outcome:
 * a return, a `TrialStopped`, or an exception (a failed attempt). `control.stop(reason)` asks it to stop.
 */
export function startTrial(
  fn: TrialFunction,
  params: TrialParams,
  info: TrialReporter['trial'],
  hooks: RunTrialHooks,
): { outcome: Promise<TrialOutcome>; stop(reason: string): void } {
  const controller = new AbortController();
  let stopReason: string | null = null;
  let steps = 0;
  let last: number | null = null;
  let lastStep = -Infinity;
  const reporter: TrialReporter = {
    report(step, value) {
      if (typeof value !== 'number' || !Number.isFinite(value)) {
        throw new TrialFunctionError(
          `trial ${info.number}: report(${step}, ${String(value)}): the metric must be a finite number`,
        );
      }
      if (!(step > lastStep))
        throw new TrialFunctionError(`trial ${info.number}: report steps must increase (${step} after ${lastStep})`);
      lastStep = step;
      steps++;
      last = value;
      hooks.metric(step, value);
      if (stopReason !== null) throw new TrialStopped(stopReason);
    },
    get stopRequested() {
      return stopReason !== null;
    },
    signal: controller.signal,
    trial: info,
  };
  const t0 = performance.now();
  const outcome = (async (): Promise<TrialOutcome> => {
    try {
      const returned = await fn(params, reporter);
      const busyMs = performance.now() - t0;
      if (stopReason !== null) return { kind: 'finished', metric: last, stopped: true, stopReason, steps, busyMs };
      if (returned !== undefined && (typeof returned !== 'number' || !Number.isFinite(returned))) {
        return {
          kind: 'failed',
          error: `trial ${info.number} returned ${String(returned)}, not a finite number`,
          crashed: false,
          busyMs,
        };
      }
      return {
        kind: 'finished',
        metric: typeof returned === 'number' ? returned : last,
        stopped: false,
        stopReason: null,
        steps,
        busyMs,
      };
    } catch (err) {
      const busyMs = performance.now() - t0;
      if (err instanceof TrialStopped || (stopReason !== null && controller.signal.aborted && isAbort(err))) {
        return {
          kind: 'finished',
          metric: last,
          stopped: true,
          stopReason: stopReason ?? (err as TrialStopped).reason,
          steps,
          busyMs,
        };
      }
      const e = err as Error;
      return { kind: 'failed', error: e?.stack ?? String(err), crashed: false, busyMs };
    }
  })();
  return {
    outcome,
    stop(reason) {
      if (stopReason !== null) return;
      stopReason = reason;
      controller.abort(new TrialStopped(reason));
    },
  };
}

function isAbort(err: unknown): boolean {
  return (
    err instanceof TrialStopped || (err instanceof Error && (err.name === 'AbortError' || err.name === 'TrialStopped'))
  );
}
