import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ABLATION_MIME, AblationBundle, SEARCH_MIME, SearchBundle } from '@floe/schema';
import { openProjectStore, type ProjectStore } from '../store';
import { ExperimentTracker } from '../tracking';
import { ablationBundle, searchBundle } from '../search/display';
import { LocalProcessExecutor } from '../search/executors/local';
import { runAblation, runSearch } from '../search';
import { ablationPlan, type AblationStudyConfig } from './study';

const trialModule = path.join(__dirname, '..', 'search', 'trials', 'iceberg-lenet.ts');

const study: AblationStudyConfig = {
  name: 'iceberg-ablation',
  metric: 'val_accuracy',
  direction: 'max',
  features: ['HH', 'HV', 'derived', 'angle'],
  layers: ['conv2'],
  layerGroups: { dense_head: ['dense1', 'dropout'] },
  trial: { module: trialModule, export: 'icebergLenetTrial' },
  // Tiny real trainings: 160 patches of 24×24, 2 epochs.
  baseParams: { samples: 160, size: 24, epochs: 2, filters: 4, kernel: 3, lr: 0.003 },
  seed: 1,
};

describe('ablation studies', () => {
  let dir: string;
  let store: ProjectStore;
  let pool: LocalProcessExecutor;
  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'floe-ablation-'));
    store = await openProjectStore({ home: dir });
    pool = new LocalProcessExecutor({ workers: 2, gpus: [] });
  });
  afterAll(async () => {
    await pool.close();
    await store.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('plans one base trial plus one per component and refuses empty or duplicate plans', () => {
    expect(ablationPlan(study).map((c) => `${c.kind}:${c.component}:${c.removed.join('+')}`)).toEqual([
      'base:base:',
      'feature:HH:HH',
      'feature:HV:HV',
      'feature:derived:derived',
      'feature:angle:angle',
      'layer:conv2:conv2',
      'layer_group:dense_head:dense1+dropout',
    ]);
    expect(() => ablationPlan({ ...study, features: [], layers: [], layerGroups: {} })).toThrow(
      /name at least one feature/,
    );
    expect(() => ablationPlan({ ...study, layers: ['HH'] })).toThrow(/'HH' is listed twice/);
  });

  it('trains every variant for real on worker processes, records runs, and gives a delta table and chart', async () => {
    const result = await runAblation(study, { store, executor: pool });
    expect(result.status).toBe('completed');
    expect(result.trials).toHaveLength(7);
    expect(result.trials.every((t) => t.status === 'completed' && t.curve.length === 2)).toBe(true);
    const bundle = await ablationBundle(store, result.searchId);
    const payload = AblationBundle.parse(bundle[ABLATION_MIME]);
    expect(payload.rows[0]).toMatchObject({ component: 'base', delta: 0 });
    expect(payload.chart.bars.map((b) => b.component)).toEqual(['HH', 'HV', 'derived', 'angle', 'conv2', 'dense_head']);
    for (const r of payload.rows) expect(r.delta).toBeCloseTo(r.metric! - payload.study.baseMetric!, 12);
    expect(String(bundle['text/html'])).toContain('dense_head');
    // Parent run for the study, one child run per trial.
    const tracker = new ExperimentTracker(store);
    const { run_id: parentId } = await store.db
      .selectFrom('search')
      .select('run_id')
      .where('id', '=', result.searchId)
      .executeTakeFirstOrThrow();
    const parent = await tracker.getRun(parentId!);
    expect(parent.status).toBe('finished');
    const children = await tracker.listRuns({ parentRunId: parent.id });
    expect(children).toHaveLength(7);
    expect(result.trials.every((t) => t.runId !== null)).toBe(true);
  });

  it('renders a search as a versioned bundle with an escaped HTML fallback', async () => {
    const result = await runSearch(
      {
        name: 'display <script>',
        space: {
          lr: { type: 'double', min: 1e-3, max: 1e-2, scale: 'log' },
          act: { type: 'categorical', values: ['a<b', 'c'] },
        },
        optimizer: 'random',
        numTrials: 6,
        metric: 'val_accuracy',
        direction: 'max',
        earlyStopping: { rule: 'median', minTrials: 1 },
        trial: { module: path.join(__dirname, '..', 'search', 'replay.ts'), export: 'replayTrial' },
        fixedParams: { epochs: 4 },
      },
      { store, executor: pool, track: false },
    );
    const bundle = await searchBundle(store, result.searchId);
    const payload = SearchBundle.parse(bundle[SEARCH_MIME]);
    expect(payload.version_major).toBe(1);
    expect(payload.trials).toHaveLength(6);
    expect(payload.best!.metric).toBe(result.best!.metric);
    expect(payload.parallelCoordinates.axes.map((a) => a.name)).toEqual(['lr', 'act', 'val_accuracy']);
    const html = String(bundle['text/html']);
    expect(html).not.toContain('<script>');
    expect(html).toContain('display &lt;script&gt;');
    expect(html).toContain('a&lt;b');
    expect(html).toContain('aria-label="learning curves"');
  });
});
