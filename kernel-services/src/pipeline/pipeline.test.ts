import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { execFileSync } from 'node:child_process';
import { afterAll, describe, expect, it } from 'vitest';
import { SaliencyArtifactMeta } from '@floe/schema';
import { openProjectStore } from '../store';
import { spawnTs } from '../test-support/child-process';
import { ExperimentTracker } from '../tracking/tracker';
import { pipelineCommand, PipelineUsageError, writeBenchmarkSection } from './cli';
import { tutorialSize } from './iceberg';
import type { PipelineSummary } from './run';

const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => fs.rmSync(d, { recursive: true, force: true })));

function tempDir(): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'floe-pipeline-test-'));
  dirs.push(d);
  return d;
}

describe('floe pipeline --size quick', () => {
  it('runs the whole tutorial headless and prints sane figures', async () => {
    const home = tempDir();
    // The embedded defaults, whatever the calling shell points FLOE_* at.
    const env = {
      FLOE_HOME: home,
      FLOE_METADATA_URL: path.join(home, 'floe.db'),
      FLOE_BLOB_URL: path.join(home, 'blobs'),
    };
    const { done } = spawnTs(
      path.join(__dirname, 'fixtures', 'floe-cli.ts'),
      ['pipeline', '--size', 'quick', '--workers', '2', '--json'],
      { env },
    );
    const r = await done;
    if (r.code !== 0) throw new Error(`floe pipeline exited ${r.code}: ${r.stderr}\n${r.stdout.slice(-3000)}`);
    const lines = r.stdout.trimEnd().split('\n');
    const s = JSON.parse(lines[lines.length - 1]!) as PipelineSummary & { wallSeconds: number };

    // The printed summary carries every part of the story.
    for (const part of [
      'floe pipeline summary',
      'validation: passed',
      'statistics',
      'validation accuracy',
      'best trial',
      'asynchronous',
      'ablation',
      'latency',
      'drift check',
    ]) {
      expect(r.stdout).toContain(part);
    }
    const size = tutorialSize('quick');
    expect(s.validation).toMatchObject({ outcome: 'passed', rows: size.patches, accepted: size.patches, rejected: 0 });
    expect(s.featureGroup).toMatchObject({ name: 'iceberg_quick', commit: 1, rows: size.patches });
    expect(Object.values(s.splits).reduce((a, b) => a + b, 0)).toBe(size.patches);

    // SAR statistics: sea clutter around −20 dB in HH, cross-pol darker, HH − HV positive, angles 30–46°.
    const stat = Object.fromEntries(s.statistics.map((f) => [f.feature, f]));
    expect(stat.band_1!.mean!).toBeGreaterThan(-30);
    expect(stat.band_1!.mean!).toBeLessThan(-10);
    expect(stat.band_2!.mean!).toBeLessThan(stat.band_1!.mean!);
    expect(stat.band_ratio!.mean!).toBeCloseTo(stat.band_1!.mean! - stat.band_2!.mean!, 3);
    expect(stat.inc_angle!.min!).toBeGreaterThanOrEqual(20);
    expect(stat.inc_angle!.max!).toBeLessThanOrEqual(50);
    expect(stat.inc_angle!.missing).toBeGreaterThan(0);

    // Training: a tracked, registered run that beats chance (accuracy 0.5, AUC 0.5, log loss ln 2 ≈ 0.693 + slack).
    const t = s.training;
    expect(t.epochs).toBe(size.epochs);
    expect(t.runId).toBeGreaterThan(0);
    expect(t.model).toBe('iceberg-lenet-quick:1');
    expect(t.samplesPerSecond).toBeGreaterThan(0);
    expect(t.validationAccuracy!).toBeGreaterThan(0.5);
    expect(t.evaluation!.split).toBe('test');
    expect(t.evaluation!.accuracy).toBeGreaterThan(0.5);
    expect(t.evaluation!.rocAuc!).toBeGreaterThan(0.55);
    expect(t.evaluation!.logLoss).toBeLessThan(0.75);
    // Saliency images of the same four validation patches after every epoch, for the Experiments panel.
    const store = await openProjectStore({ home, metadataUrl: env.FLOE_METADATA_URL, blobUrl: env.FLOE_BLOB_URL });
    try {
      const saliency = (await new ExperimentTracker(store).artifacts(t.runId!))
        .filter((a) => a.name.startsWith('saliency/'))
        .map((a) => SaliencyArtifactMeta.parse(a.meta))
        .sort((a, b) => a.epoch - b.epoch);
      expect(saliency.map((m) => m.epoch)).toEqual(Array.from({ length: size.epochs }, (_, i) => i + 1));
      const patches = saliency[0]!.images.map((i) => i.patch);
      expect(patches).toHaveLength(4);
      for (const m of saliency) expect(m.images.map((i) => i.patch)).toEqual(patches);
    } finally {
      await store.close();
    }

    // Search: all trials ran, a best one better than chance, both timings measured.
    expect(s.search.trials).toBe(size.search.trials);
    expect(s.search.best!.metric).toBeGreaterThan(0.5);
    expect(s.search.asyncSeconds).toBeGreaterThan(0);
    expect(s.search.syncSeconds).toBeGreaterThan(0);
    expect(s.search.savedSeconds).toBeCloseTo(s.search.syncSeconds - s.search.asyncSeconds, 2);

    // Ablation: the base model and one trial per component, each with a metric and a delta.
    expect(s.ablation.map((a) => a.component)).toEqual(['base', 'HH', 'HV', 'angle', 'conv2', 'dense1']);
    for (const a of s.ablation) {
      expect(a.metric).toBeGreaterThan(0);
      if (a.component !== 'base') expect(a.delta).toBeCloseTo(a.metric! - s.ablation[0]!.metric!, 3);
    }

    // Serving: every request answered, latency measured, input drift only on the shifted stream. (The
    // unshifted stream may still raise a prediction-rate alert: the quick model is barely trained.)
    expect(s.serving!.model).toBe('iceberg-lenet-quick@production');
    expect(s.serving!.requests).toBe(2 * size.monitoring.requests);
    expect(s.serving!.latencyMs.p50).toBeGreaterThan(0);
    expect(s.serving!.latencyMs.p95).toBeGreaterThanOrEqual(s.serving!.latencyMs.p50);
    expect(s.serving!.drift.unshifted.alerts.filter((a) => a.startsWith('band_'))).toEqual([]);
    expect(s.serving!.drift.shifted.status).toBe('drift');
    expect(s.serving!.drift.shifted.alerts).toContain('band_1.mean_shift');
  }, 240_000);
});

describe('floe pipeline options and the benchmarks section', () => {
  it('rejects a bad size or worker count with a usage error', async () => {
    const parsed = (options: Record<string, string | true>) => ({ positionals: [], options });
    await expect(pipelineCommand(parsed({ size: 'huge' }), () => {})).rejects.toThrow(PipelineUsageError);
    await expect(pipelineCommand(parsed({ size: 'quick', workers: '0' }), () => {})).rejects.toThrow(
      /--workers must be a positive integer, got 0/,
    );
    expect(() => tutorialSize('medium')).toThrow(/'quick' or 'full'/);
  });

  it('replaces its own section of benchmarks.md and keeps the others', () => {
    const file = path.join(tempDir(), 'benchmarks.md');
    fs.writeFileSync(
      file,
      '# Benchmarks\n\n## train\n\nkeep me\n\n## pipeline (full)\n\nold figures\n\n## search\n\nkeep me too\n',
    );
    const summary: PipelineSummary = {
      size: 'full',
      workers: 2,
      validation: {
        outcome: 'passed',
        rows: 10,
        accepted: 10,
        rejected: 0,
        failedRules: [],
        report: {} as PipelineSummary['validation']['report'],
      },
      featureGroup: { name: 'iceberg', version: 1, commit: 1, rows: 10 },
      statistics: [],
      splits: { train: 10 },
      training: {
        runId: 1,
        epochs: 20,
        samplesPerSecond: 50,
        validationAccuracy: 0.875,
        validationLogLoss: 0.3,
        evaluation: null,
        model: null,
      },
      search: {
        trials: 16,
        best: null,
        asyncSeconds: 10,
        syncSeconds: 20,
        savedSeconds: 10,
        savedFraction: 0.5,
        stoppedEarly: 3,
      },
      ablation: [],
      serving: null,
      seconds: {},
    };
    writeBenchmarkSection(file, summary, 100);
    const text = fs.readFileSync(file, 'utf8');
    expect(text).toContain('keep me\n');
    expect(text).toContain('## search\n\nkeep me too');
    expect(text).not.toContain('old figures');
    expect(text).toContain('validation accuracy 0.8750');
    expect(text).toContain('10.0 s saved (50%)');
    expect(text.match(/## pipeline \(full\)/g)).toHaveLength(1);
  });
});

describe('the tutorial notebooks', () => {
  it('are what scripts/build-notebooks.mjs generates (edit the cells there)', () => {
    const root = path.resolve(__dirname, '..', '..', '..');
    expect(() =>
      execFileSync(process.execPath, [path.join(root, 'scripts', 'build-notebooks.mjs'), '--check'], { stdio: 'pipe' }),
    ).not.toThrow();
    for (const n of ['01', '02', '03', '04', '05', '06']) {
      const file = fs
        .readdirSync(path.join(root, 'notebooks'))
        .find((f) => f.startsWith(`${n}-`) && f.endsWith('.ipynb'));
      expect(file, `notebook ${n}`).toBeDefined();
      const nb = JSON.parse(fs.readFileSync(path.join(root, 'notebooks', file!), 'utf8')) as {
        metadata: { kernelspec: { name: string } };
        cells: { id?: string; outputs?: unknown[] }[];
      };
      expect(nb.metadata.kernelspec.name).toBe('floe-typescript');
      expect(
        nb.cells.every((c) => typeof c.id === 'string' && (c.outputs === undefined || c.outputs.length === 0)),
      ).toBe(true);
    }
  });
});
