import type {
  AblationBundle,
  DriftReport,
  ExplanationPayload,
  HistogramCounts,
  SearchBundle,
  TrialSummary,
  ValidationReport,
} from '@floe/schema';
import type { LiveState } from '../../kernel-services/dist/training/live';

/**
 * Payloads for the Floe renderer tests (the Playwright spec and the vitest tests beside
 * extension/src/renderers): plain data in the shapes the library's bundle builders take, seeded so
 * every run draws the same pictures. `name` lets a test put a hostile string where names go.
 */

/** A small seeded generator (mulberry32): the same numbers on every run. */
export function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A training run's live state after `done` of `epochs` epochs (finished with an evaluation when done === epochs). */
export function trainingState(opts: { epochs: number; done: number; name?: string; experiment?: string }): LiveState {
  const rows = Array.from({ length: opts.done }, (_, i) => {
    const t = (i + 1) / Math.max(1, opts.epochs);
    // Falling loss with a little noise and one spike, so downsampling has something to keep.
    const wobble = Math.sin(i * 0.7) * 0.01;
    const spike = i === Math.floor(opts.done * 0.6) ? 0.25 : 0;
    return {
      epoch: i + 1,
      seconds: 1.5 + (i % 3) * 0.1,
      loss: 0.69 * Math.exp(-2.2 * t) + 0.12 + wobble + spike,
      accuracy: 0.5 + 0.4 * (1 - Math.exp(-3 * t)) - wobble,
      val_loss: 0.7 * Math.exp(-1.8 * t) + 0.2 + wobble * 2 + spike,
      val_accuracy: 0.5 + 0.33 * (1 - Math.exp(-2.5 * t)) - wobble,
    };
  });
  const finished = opts.done >= opts.epochs;
  return {
    runId: 7,
    runName: opts.name ?? 'lenet-hh-hv',
    experiment: opts.experiment ?? 'iceberg-tutorial',
    status: finished ? 'finished' : 'running',
    model: 'lenet',
    epochs: opts.epochs,
    epoch: finished ? opts.epochs : opts.done + 1,
    batch: finished ? 0 : 12,
    batches: 40,
    elapsedSeconds: opts.done * 1.6,
    samplesPerSecond: 231.4,
    rows,
    evaluation: finished
      ? {
          split: 'validation',
          samples: 321,
          accuracy: 0.8349,
          logLoss: 0.3702,
          rocAuc: 0.9113,
          confusion: {
            matrix: [
              [151, 22],
              [31, 117],
            ],
            tn: 151,
            fp: 22,
            fn: 31,
            tp: 117,
          },
          byAngle: [
            { label: '30–35°', low: 30, high: 35, count: 88, accuracy: 0.852 },
            { label: '35–40°', low: 35, high: 40, count: 141, accuracy: 0.83 },
            { label: '40–46°', low: 40, high: 46, count: 70, accuracy: 0.814 },
            { label: 'missing', low: null, high: null, count: 22, accuracy: 0.864 },
          ],
        }
      : null,
    message: finished ? 'early stopping: val_loss did not improve for 3 epochs (best epoch 17)' : null,
  };
}

function trial(
  n: number,
  status: TrialSummary['status'],
  lr: number,
  dropout: number,
  steps: number,
  rand: () => number,
): TrialSummary {
  const ceiling = 0.75 + 0.12 * Math.exp(-Math.abs(Math.log10(lr) + 3)) - dropout * 0.1;
  const curve = Array.from({ length: steps }, (_, i) => ceiling * (1 - Math.exp(-(i + 1) / 3)) + (rand() - 0.5) * 0.02);
  const metric = curve.length ? curve[curve.length - 1]! : null;
  return {
    number: n,
    status,
    params: { learningRate: lr, dropout, optimizer: n % 2 ? 'adam' : 'sgd' },
    budget: null,
    rung: null,
    promotedFrom: null,
    metric: status === 'running' || status === 'pending' ? null : metric,
    bestMetric: curve.length ? Math.max(...curve) : null,
    steps,
    stopReason:
      status === 'stopped'
        ? `median rule: ${metric?.toFixed(3)} below the median 0.801 of earlier trials at step ${steps}`
        : null,
    error: null,
    attempts: 1,
    durationMs: steps * 1500,
    worker: `worker-${n % 2}`,
    curve,
    runId: 100 + n,
  };
}

export function searchPayload(opts: { trials?: number; name?: string } = {}): SearchBundle {
  const rand = seeded(11);
  const count = opts.trials ?? 12;
  const trials = Array.from({ length: count }, (_, i) => {
    const lr = 10 ** (-4 + rand() * 2.5);
    const dropout = Math.round(rand() * 50) / 100;
    const stopped = i > 3 && i % 3 === 0;
    return trial(
      i + 1,
      stopped ? 'stopped' : i === count - 1 ? 'running' : 'completed',
      lr,
      dropout,
      stopped ? 4 : 10,
      rand,
    );
  });
  const done = trials.filter((t) => t.metric !== null);
  const best = done.reduce((a, b) => (b.metric! > a.metric! ? b : a));
  const metrics = done.map((t) => t.metric!);
  return {
    version_major: 1,
    search: {
      id: 3,
      name: opts.name ?? 'lenet-lr-dropout',
      kind: 'search',
      status: 'running',
      optimizer: 'TPE (10 startup trials)',
      metric: 'val_accuracy',
      direction: 'max',
      mode: 'async',
      workers: 2,
      numTrials: count + 4,
      createdAt: '2025-01-01T10:00:00.000Z',
      finishedAt: null,
      runId: 99,
    },
    space: {
      learningRate: { type: 'double', min: 1e-4, max: 0.03, scale: 'log' },
      dropout: { type: 'double', min: 0, max: 0.5, scale: 'linear' },
      optimizer: { type: 'categorical', values: ['adam', 'sgd'] },
    },
    trials,
    best: { trial: best.number, metric: best.metric!, params: best.params },
    parallelCoordinates: {
      axes: [
        { name: 'learningRate', kind: 'log', domain: [1e-4, 0.03] },
        { name: 'dropout', kind: 'linear', domain: [0, 0.5] },
        { name: 'optimizer', kind: 'categorical', domain: ['adam', 'sgd'] },
        { name: 'val_accuracy', kind: 'linear', domain: [Math.min(...metrics), Math.max(...metrics)] },
      ],
      lines: done.map((t) => ({
        trial: t.number,
        values: [t.params.learningRate!, t.params.dropout!, t.params.optimizer!, t.metric!],
        stopped: t.status === 'stopped',
      })),
    },
  };
}

export function ablationPayload(opts: { name?: string } = {}): AblationBundle {
  const base = 0.842;
  const parts: [string, 'feature' | 'layer' | 'layer_group', string[], number][] = [
    ['band_2', 'feature', ['band_2'], 0.771],
    ['band_avg', 'feature', ['band_avg'], 0.838],
    ['inc_angle', 'feature', ['inc_angle'], 0.846],
    ['conv2', 'layer', ['conv2'], 0.803],
    [opts.name ?? 'dense block', 'layer_group', ['dense1', 'dropout1'], 0.829],
  ];
  const rows: AblationBundle['rows'] = [
    {
      trial: 1,
      component: 'base',
      kind: 'base',
      removed: [],
      status: 'completed',
      metric: base,
      delta: null,
      runId: 201,
    },
    ...parts.map(([component, kind, removed, metric], i) => ({
      trial: i + 2,
      component,
      kind,
      removed,
      status: 'completed' as const,
      metric,
      delta: metric - base,
      runId: 202 + i,
    })),
  ];
  return {
    version_major: 1,
    study: {
      id: 4,
      name: 'what the CNN needs',
      status: 'completed',
      metric: 'val_accuracy',
      direction: 'max',
      baseMetric: base,
    },
    rows,
    chart: {
      kind: 'bar',
      x: 'component',
      y: 'delta',
      bars: rows
        .filter((r) => r.kind !== 'base')
        .map((r) => ({ component: r.component, kind: r.kind, delta: r.delta! })),
    },
  };
}

export function validationReport(opts: { id?: string } = {}): ValidationReport {
  const hostile = opts.id ?? 'a1b2c3';
  return {
    version_major: 1,
    ruleSet: 'iceberg-statoil',
    policy: 'always',
    outcome: 'accepted_with_failures',
    rows: 1604,
    accepted: 1601,
    rules: [
      {
        rule: 'shape',
        type: 'shape',
        level: 'row',
        passed: true,
        checked: 1604,
        failing: 0,
        message: 'all rows have band_1, band_2 of 5625 values',
        examples: [],
      },
      {
        rule: 'finite(band_1, band_2)',
        type: 'finite',
        level: 'row',
        passed: false,
        checked: 1604,
        failing: 2,
        message: '2 rows contain NaN or ±Infinity',
        examples: [
          { row: 17, id: hostile, message: 'band_1[2210] is NaN' },
          { row: 905, id: '0f3e19', message: 'band_2[14] is Infinity' },
        ],
      },
      {
        rule: 'range(inc_angle)',
        type: 'range',
        level: 'row',
        passed: false,
        checked: 1604,
        failing: 1,
        message: 'inc_angle outside [20, 50]',
        examples: [{ row: 1200, id: '77aa01', message: 'inc_angle 91.2 > 50' }],
      },
      {
        rule: 'missingRate(inc_angle)',
        type: 'missingRate',
        level: 'dataset',
        passed: true,
        checked: 1604,
        failing: 0,
        message: 'missing 8.3% <= 15%',
        examples: [],
      },
      {
        rule: 'classBalance(is_iceberg)',
        type: 'classBalance',
        level: 'dataset',
        passed: true,
        checked: 1604,
        failing: 0,
        message: 'iceberg 46.9%, ship 53.1%',
        examples: [],
      },
    ],
    rejected: [
      { row: 17, id: hostile, reasons: ['band_1[2210] is NaN'] },
      { row: 905, id: '0f3e19', reasons: ['band_2[14] is Infinity'] },
      { row: 1200, id: '77aa01', reasons: ['inc_angle 91.2 > 50'] },
    ],
    validatedAt: '2025-01-01T10:00:00.000Z',
    durationMs: 412,
  };
}

function histogram(lo: number, hi: number, mean: number, std: number, n: number, rand: () => number): HistogramCounts {
  const counts = new Array<number>(20).fill(0);
  let below = 0;
  let above = 0;
  for (let i = 0; i < n; i++) {
    // Box–Muller
    const v = mean + std * Math.sqrt(-2 * Math.log(1 - rand())) * Math.cos(2 * Math.PI * rand());
    if (v < lo) below++;
    else if (v >= hi) above++;
    else counts[Math.floor(((v - lo) / (hi - lo)) * 20)]!++;
  }
  return { lo, hi, counts, below, above };
}

export function driftReport(opts: { windows?: number; model?: string } = {}): DriftReport {
  const rand = seeded(5);
  const windows = Array.from({ length: opts.windows ?? 4 }, (_, w) => {
    const shift = w >= 2 ? 2.5 * (w - 1) : 0;
    const band = (name: string, mean: number) => {
      const served = mean + shift;
      return {
        band: name,
        reference: { mean, std: 4 },
        served: { mean: served, std: 4.2, min: served - 12, max: served + 14, count: 400 * 5625 },
        psi: 0.02 + shift * 0.09,
        ks: 0.03 + shift * 0.05,
        meanShift: shift / 4,
        referenceHistogram: histogram(mean - 15, mean + 15, mean, 4, 2000, rand),
        servedHistogram: histogram(mean - 15, mean + 15, served, 4.2, 2000, rand),
      };
    };
    const bands = [band('band_1', -20.6), band('band_2', -26.3)];
    const alerts = bands
      .filter((b) => b.psi! >= 0.2)
      .map((b) => ({
        feature: b.band,
        metric: 'psi' as const,
        value: b.psi!,
        threshold: 0.2,
        message: `${b.band}: PSI ${b.psi!.toFixed(3)} ≥ 0.2`,
      }));
    return {
      start: `2025-01-0${w + 1}T00:00:00.000Z`,
      end: `2025-01-0${w + 2}T00:00:00.000Z`,
      requests: 40,
      instances: 400,
      status: alerts.length ? ('drift' as const) : ('ok' as const),
      bands,
      angle: {
        feature: 'inc_angle',
        reference: { mean: 39.2, std: 3.8, missingRate: 0.083 },
        served: { mean: 39.6, std: 3.7, missingRate: 0.09, count: 364 },
        psi: 0.04,
        ks: 0.05,
        referenceHistogram: histogram(30, 46, 39.2, 3.8, 1500, rand),
        servedHistogram: histogram(30, 46, 39.6, 3.7, 364, rand),
      },
      predictions: {
        histogram: [60, 48, 35, 30, 22, 25, 31, 40, 52, 57],
        mean: 0.49,
        positiveRate: 0.51,
        referencePositiveRate: 0.469,
      },
      alerts,
    };
  });
  return {
    id: 12,
    model: opts.model ?? 'iceberg-lenet',
    version: 2,
    createdAt: '2025-01-05T00:00:00.000Z',
    reference: {
      source: 'feature-store',
      trainingDataset: 'iceberg-train:1',
      featureGroup: 'iceberg_patches',
      commit: 3,
      rows: 1604,
    },
    thresholds: { psi: 0.2, ks: 0.2, meanShift: 0.5, missingRate: 0.15, positiveRate: 0.3, minInstances: 20 },
    windows,
  };
}

/** A speckled 75 × 75 patch in dB with a bright compact target (an "iceberg") left of centre. */
export function sarPatch(size = 75): {
  width: number;
  height: number;
  bands: { name: string; values: Float32Array }[];
} {
  const rand = seeded(3);
  const hh = new Float32Array(size * size);
  const hv = new Float32Array(size * size);
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      const d = Math.hypot(x - size * 0.42, y - size * 0.5);
      const target = d < 6 ? 14 * (1 - d / 6) : 0;
      const speckle = 10 * Math.log10(-Math.log(1 - rand() * 0.999) + 1e-3);
      hh[y * size + x] = -22 + speckle + target;
      hv[y * size + x] = -28 + speckle * 0.8 + target * 0.7;
    }
  }
  return {
    width: size,
    height: size,
    bands: [
      { name: 'HH', values: hh },
      { name: 'HV', values: hv },
    ],
  };
}

export function explanationPayload(opts: { model?: string; method?: 'saliency' | 'gradcam' } = {}): ExplanationPayload {
  const patch = sarPatch(75);
  const heatmap = Array.from({ length: 75 * 75 }, (_, i) => {
    const d = Math.hypot((i % 75) - 31.5, Math.floor(i / 75) - 37.5);
    return Math.round(Math.exp(-(d * d) / 60) * 1000) / 1000;
  });
  return {
    version_major: 1,
    version_minor: 0,
    method: opts.method ?? 'gradcam',
    model: opts.model ?? 'iceberg-lenet@production',
    probability: 0.912,
    height: 75,
    width: 75,
    heatmap,
    background: Array.from(patch.bands[0]!.values, (v) => Math.round(v * 100) / 100),
    backgroundName: 'HH (dB)',
  };
}
