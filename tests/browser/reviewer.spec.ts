import * as fs from 'node:fs';
import * as path from 'node:path';
import { expect, test, type APIRequestContext, type Locator, type Page } from '@playwright/test';
import { FeatureStore } from '../../kernel-services/dist/feature-store/feature-store';
import { openProjectStore, type ProjectStore } from '../../kernel-services/dist/store';
// The tables' row types (each migration declares its tables into FloeDatabase).
import type {} from '../../kernel-services/dist/store/migrations/002_feature_store';
import type {} from '../../kernel-services/dist/store/migrations/003_experiments';
import type {} from '../../kernel-services/dist/store/migrations/004_search';
import type {} from '../../kernel-services/dist/store/migrations/005_serving';
import type {} from '../../kernel-services/dist/store/migrations/006_deployments';
import { labServer, openLab, repoRoot, runPaletteCommand, screenshotPath } from './lab';

/**
 * The reviewer's path on the real tutorial project: JupyterLab opened on the store the tutorial
 * notebooks built (scripts/test.sh), or `floe pipeline --size quick` when scripts/browser-tests.sh runs
 * alone. With no kernel running, every feature group, training dataset, experiment, run, search,
 * ablation, model and deployment of the tutorial is inspected in the panels, and each panel's list is
 * checked against the store itself (read here with the library, not through the hub). Then the live
 * path: a notebook trains on the Floe kernel and the Experiments panel follows the run as it trains.
 */

const lab = labServer();
const tutorialHome = process.env.FLOE_TUTORIAL_HOME;
const tutorialAt = process.env.FLOE_TUTORIAL_AT;

test.skip(
  !tutorialHome || !tutorialAt,
  'no tutorial project: run through scripts/browser-tests.sh, which opens JupyterLab on one (FLOE_TUTORIAL_HOME)',
);

// ---- what the store holds ----

/** JSON columns are text on SQLite and values on PostgreSQL. */
function json<T>(value: unknown): T {
  return (typeof value === 'string' ? JSON.parse(value) : value) as T;
}

/** Whether a record was written by the tutorial, i.e. before the browser run (and its specs' seeds) began. */
function byTutorial(at: unknown): boolean {
  return new Date(at as string).getTime() < new Date(tutorialAt!).getTime();
}

interface Report {
  outcome: string;
  rules: { passed: boolean }[];
}
interface Stats {
  rows: number;
  features: Record<
    string,
    { bands?: { histogram?: unknown }[]; numeric?: { histogram?: unknown } | null; kind: string } | undefined
  >;
}

async function withStore<T>(read: (store: ProjectStore) => Promise<T>): Promise<T> {
  const store = await openProjectStore({ home: lab.floeHome });
  try {
    return await read(store);
  } finally {
    await store.close();
  }
}

async function readFeatureStore(store: ProjectStore) {
  const groups = await store.db.selectFrom('feature_group').selectAll().orderBy('id').execute();
  const commits = await store.db.selectFrom('feature_group_commit').selectAll().orderBy('number').execute();
  const datasets = await store.db.selectFrom('training_dataset').selectAll().orderBy('id').execute();
  return {
    all: groups.map((g) => `${g.name}:${g.version}`),
    allDatasets: datasets.map((d) => d.name),
    groups: groups
      .filter((g) => byTutorial(g.created_at))
      .map((g) => {
        const own = commits.filter((c) => c.feature_group_id === g.id);
        const latest = own.at(-1);
        const validation = latest?.validation ? json<Report | { chunks: Report[] }>(latest.validation) : null;
        const reports = validation === null ? [] : 'chunks' in validation ? validation.chunks : [validation];
        const stats = latest ? json<{ group: Stats }>(latest.statistics).group : null;
        return {
          name: g.name,
          version: g.version,
          versions: groups.filter((o) => o.name === g.name).map((o) => o.version),
          hasRuleSet: g.rule_set !== null,
          commits: own.map((c) => ({
            number: c.number,
            inserted: Number(c.rows_inserted),
            total: Number(c.total_rows),
            rejected: Number(c.rows_rejected),
          })),
          reports,
          statsRows: stats?.rows ?? 0,
          features: stats ? Object.keys(stats.features) : [],
          histograms: stats
            ? Object.values(stats.features).reduce(
                (n, f) => n + (f?.bands ?? []).filter((b) => b.histogram).length + (f?.numeric?.histogram ? 1 : 0),
                0,
              )
            : 0,
        };
      }),
    datasets: datasets
      .filter((d) => byTutorial(d.created_at))
      .map((d) => {
        const group = groups.find((g) => g.id === d.feature_group_id)!;
        return {
          name: d.name,
          version: d.version,
          lineage: `${group.name} v${group.version} · commit ${d.commit_number}`,
          group: group.name,
          commit: d.commit_number,
          splits: json<Record<string, number>>(d.split_counts),
        };
      }),
  };
}

async function readExperiments(store: ProjectStore) {
  const experiments = await store.db.selectFrom('experiment').selectAll().orderBy('id').execute();
  const runs = await store.db
    .selectFrom('run')
    .select(['id', 'name', 'status', 'experiment_id', 'parent_run_id', 'epochs_completed', 'tags', 'started_at'])
    .orderBy('id')
    .execute();
  const metrics = await store.db
    .selectFrom('run_metric')
    .select(['run_id', 'name', 'scope'])
    .where('scope', '=', 'epoch')
    .select((eb) => eb.fn.countAll<number>().as('points'))
    .groupBy(['run_id', 'name', 'scope'])
    .execute();
  const saliency = await store.db
    .selectFrom('run_artifact')
    .select(['run_id', 'meta'])
    .where('name', 'like', 'saliency/epoch-%')
    .execute();
  return {
    all: experiments.map((e) => e.name),
    experiments: experiments
      .filter((e) => byTutorial(e.created_at))
      .map((e) => ({
        name: e.name,
        runs: runs
          .filter((r) => r.experiment_id === e.id)
          .map((r) => ({
            id: r.id,
            name: r.name,
            status: r.status,
            epochs: r.epochs_completed,
            kind: json<Record<string, unknown>>(r.tags).kind as string | undefined,
            parent: r.parent_run_id,
            curves: Object.fromEntries(
              metrics.filter((m) => m.run_id === r.id).map((m) => [m.name, Number(m.points)] as const),
            ),
            saliency: saliency
              .filter((a) => a.run_id === r.id)
              .map((a) => json<SaliencyMeta>(a.meta))
              .sort((a, b) => a.epoch - b.epoch),
          })),
      })),
  };
}

/** `meta` of a run's `saliency/epoch-NNN` artifact (SaliencyArtifactMeta in schema/src/hub.ts). */
interface SaliencyMeta {
  epoch: number;
  method: string;
  images: { file: string; patch: string; label: number | null; probability: number | null }[];
}

/** The panel's columns for a run's saliency epochs: at most 8, evenly spaced, first and last kept. */
function saliencyColumns<T>(items: readonly T[], max = 8): T[] {
  if (items.length <= max) return [...items];
  return Array.from({ length: max }, (_, i) => items[Math.round((i * (items.length - 1)) / (max - 1))]!);
}

async function readSearches(store: ProjectStore) {
  const searches = await store.db.selectFrom('search').selectAll().orderBy('id').execute();
  const trials = await store.db
    .selectFrom('search_trial')
    .select(['search_id', 'number', 'status', 'metric', 'params'])
    .orderBy('number')
    .execute();
  return {
    all: searches.map((s) => s.id),
    searches: searches
      .filter((s) => byTutorial(s.created_at))
      .map((s) => {
        const config = json<{ metric: string; direction: 'max' | 'min' }>(s.config);
        const own = trials.filter((t) => t.search_id === s.id);
        const scored = own.filter((t) => (t.status === 'completed' || t.status === 'stopped') && t.metric !== null);
        const best = scored.reduce<(typeof own)[number] | null>(
          (b, t) => (!b || (config.direction === 'max' ? t.metric! > b.metric! : t.metric! < b.metric!) ? t : b),
          null,
        );
        const base = own.find((t) => json<Record<string, unknown>>(t.params).component === 'base');
        return {
          id: s.id,
          name: s.name,
          kind: s.kind,
          status: s.status,
          metric: config.metric,
          trials: own.length,
          withMetric: own.filter((t) => t.metric !== null).length,
          stopped: own.filter((t) => t.status === 'stopped' && t.metric !== null).length,
          best: best && { trial: best.number, metric: best.metric! },
          baseMetric: base?.status === 'completed' ? base.metric : null,
          components: own
            .filter((t) => t !== base && t.metric !== null)
            .map((t) => String(json<Record<string, unknown>>(t.params).component)),
        };
      }),
  };
}

async function readModels(store: ProjectStore) {
  const versions = await store.db.selectFrom('model_version').selectAll().orderBy('version', 'desc').execute();
  const aliases = await store.db.selectFrom('model_alias').selectAll().execute();
  const deployments = await store.db.selectFrom('deployment').selectAll().orderBy('id').execute();
  const alerts = await store.db.selectFrom('drift_alert').select(['model', 'version']).execute();
  const names = [...new Set(versions.filter((v) => byTutorial(v.created_at)).map((v) => v.name))];
  return {
    all: [...new Set(versions.map((v) => v.name))],
    allDeployments: [...new Set(deployments.map((d) => d.name))],
    models: names.map((name) => ({
      name,
      versions: versions
        .filter((v) => v.name === name)
        .map((v) => {
          const lineage = json<{
            dataset?: { featureGroup?: string; featureGroupVersion?: number; commit?: number } | null;
          }>(v.lineage);
          return {
            version: v.version,
            runId: v.run_id,
            aliases: aliases
              .filter((a) => a.name === name && a.version === v.version)
              .map((a) => `@${a.alias}`)
              .sort(),
            commit: lineage.dataset?.featureGroup
              ? `${lineage.dataset.featureGroup} v${lineage.dataset.featureGroupVersion} #${lineage.dataset.commit}`
              : null,
          };
        }),
    })),
    // The latest record per deployment name is what the panel shows for it.
    deployments: [...new Set(deployments.filter((d) => byTutorial(d.started_at)).map((d) => d.name))].map((name) => {
      const d = deployments.filter((x) => x.name === name).at(-1)!;
      const served = json<{ model: string; version: number }[]>(d.served);
      return {
        name,
        status: d.status,
        served: served.map((s) => `${s.model}:${s.version}`),
        alerts: alerts.filter((a) => served.some((s) => s.model === a.model && s.version === a.version)).length,
      };
    }),
  };
}

/** A group's patches as `<id> <ship|iceberg>`, read from its feature data (Lance), sorted. */
async function labelledPatches(group: string, version: number): Promise<string[]> {
  const features = await FeatureStore.open({ home: lab.floeHome });
  try {
    const rows = await (await features.getFeatureGroup(group, version)).read({ columns: ['id', 'is_iceberg'] });
    return rows.map((r) => `${String(r.id)} ${Number(r.is_iceberg) === 1 ? 'iceberg' : 'ship'}`).sort();
  } finally {
    await features.close();
  }
}

// ---- the Lab ----

async function kernelIds(request: APIRequestContext): Promise<string[]> {
  const r = await request.get(`${lab.url}api/kernels`, { headers: { Authorization: `token ${lab.token}` } });
  expect(r.ok()).toBe(true);
  return ((await r.json()) as { id: string }[]).map((k) => k.id);
}

/** The reviewer's path starts no kernel: none runs before, and the panels start none. */
async function reviewerLab(page: Page, request: APIRequestContext): Promise<string[]> {
  expect(await kernelIds(request), 'kernels running before the reviewer opened the Lab').toEqual([]);
  const errors: string[] = [];
  page.on('pageerror', (err) => errors.push(err.message));
  await openLab(page, lab);
  return errors;
}

async function datasetValues(items: Locator, key: string): Promise<string[]> {
  return items.evaluateAll((nodes, k) => nodes.map((n) => (n as HTMLElement).dataset[k] ?? ''), key);
}

function cssString(value: string): string {
  return value.replace(/["\\]/g, '\\$&');
}

/** A file-name-safe form of a store name, for screenshots. */
function slug(name: string): string {
  return name.replace(/[^A-Za-z0-9_-]+/g, '-').slice(0, 60);
}

const fmt = (v: number): string => (Number.isInteger(v) ? String(v) : v.toPrecision(4));

test('reviewer: the feature store browser shows every feature group and training dataset of the tutorial', async ({
  page,
  request,
}) => {
  test.setTimeout(300_000);
  const store = await withStore(readFeatureStore);
  expect(store.groups.length, `the tutorial project at ${tutorialHome} has no feature groups`).toBeGreaterThan(0);
  expect(store.datasets.length, `the tutorial project at ${tutorialHome} has no training datasets`).toBeGreaterThan(0);
  const errors = await reviewerLab(page, request);

  await runPaletteCommand(page, 'Open Feature Store');
  const panel = page.locator('#floe-feature-store');
  await expect(panel.locator('.floe-FeatureStore-body[data-floe-showing="home"]')).toBeVisible();
  // Wider, as a reviewer would drag it, so statistics and the gallery have room.
  const handle = page.locator('#jp-main-split-panel > .lm-SplitPanel-handle').first();
  const box = await handle.boundingBox();
  if (box) {
    await page.mouse.move(box.x + box.width / 2, box.y + 200);
    await page.mouse.down();
    await page.mouse.move(box.x + 420, box.y + 200, { steps: 5 });
    await page.mouse.up();
  }

  // The lists are exactly the store's groups (every version) and training datasets.
  const groupItems = panel.locator('.floe-FeatureStore-item[data-floe-group]');
  await expect(groupItems).toHaveCount(store.all.length);
  const shown = await groupItems.evaluateAll((nodes) =>
    nodes.map((n) => `${(n as HTMLElement).dataset.floeGroup}:${(n as HTMLElement).dataset.floeVersion}`),
  );
  expect(shown.sort()).toEqual([...store.all].sort());
  const datasetItems = panel.locator('.floe-FeatureStore-item[data-floe-dataset]');
  await expect(datasetItems).toHaveCount(store.allDatasets.length);
  expect((await datasetValues(datasetItems, 'floeDataset')).sort()).toEqual([...store.allDatasets].sort());
  await page.screenshot({ path: screenshotPath('reviewer-feature-store-home.png') });

  for (const g of store.groups) {
    await panel.locator('.floe-FeatureStore-filter').fill(g.name);
    const item = panel.locator(
      `.floe-FeatureStore-item[data-floe-group="${cssString(g.name)}"][data-floe-version="${g.version}"]`,
    );
    const latest = g.commits.at(-1);
    await expect(item).toContainText(`v${g.version} · ${g.commits.length} commit`);
    if (latest) await expect(item).toContainText(`${latest.total} rows`);
    await item.click();
    await expect(panel.locator('.floe-FeatureStore-groupTitle')).toHaveText(g.name);

    // Versions and commits, newest first and chosen.
    await expect(panel.locator('.floe-FeatureStore-version option')).toHaveText(
      [...g.versions].sort((a, b) => b - a).map((v) => `version ${v}`),
    );
    const commits = panel.locator('.floe-FeatureStore-commit');
    await expect(commits).toHaveCount(g.commits.length);
    for (const c of g.commits)
      await expect(panel.locator(`.floe-FeatureStore-commit[data-floe-commit="${c.number}"]`)).toContainText(
        `+${c.inserted} → ${c.total}`,
      );
    if (latest) await expect(commits.first()).toHaveAttribute('aria-pressed', 'true');

    // Statistics of the whole group as of the latest commit: a card per feature, a histogram per band.
    await panel.locator('[data-floe-tab="statistics"]').click();
    await expect(panel.locator('.floe-FeatureStore-summary')).toHaveText(`${g.statsRows} rows`);
    await expect(
      panel
        .locator('.floe-FeatureStore-feature')
        .evaluateAll((n) => n.map((x) => (x as HTMLElement).dataset.floeFeature)),
    ).resolves.toEqual(g.features);
    await expect(panel.locator('[data-floe-histogram]')).toHaveCount(g.histograms);
    if (g.histograms) await expect(panel.locator('[data-floe-histogram] .js-plotly-plot').first()).toBeVisible();
    await page.screenshot({ path: screenshotPath(`reviewer-feature-store-${slug(g.name)}-statistics.png`) });

    // The validation report of the latest commit (or the note that the group has no rule set).
    await panel.locator('[data-floe-tab="validation"]').click();
    if (g.reports.length) {
      const reports = panel.locator('.floe-FeatureStore-report');
      await expect(reports).toHaveCount(g.reports.length);
      for (const [i, r] of g.reports.entries()) {
        await expect(reports.nth(i).locator(`[data-floe-outcome="${r.outcome}"]`)).toBeVisible();
        await expect(reports.nth(i).locator('.floe-FeatureStore-rules tbody tr')).toHaveCount(r.rules.length);
        await expect(reports.nth(i).locator('.floe-FeatureStore-rules tr.floe-mod-failed')).toHaveCount(
          r.rules.filter((x) => !x.passed).length,
        );
      }
    } else {
      expect(g.hasRuleSet, `${g.name} has a rule set but its latest commit no report`).toBe(false);
      await expect(panel.locator('.floe-FeatureStore-validation')).toContainText('no rule set');
    }
    await page.screenshot({ path: screenshotPath(`reviewer-feature-store-${slug(g.name)}-validation.png`) });

    // The patch gallery: the first page of the group's patches, drawn, with their labels.
    await panel.locator('[data-floe-tab="patches"]').click();
    const total = latest?.total ?? 0;
    await expect(panel.locator('.floe-Gallery-range')).toHaveText(`1–${Math.min(24, total)} of ${total}`);
    const tiles = panel.locator('.floe-Gallery-tile');
    await expect(tiles).toHaveCount(Math.min(24, total));
    await expect(tiles.first().locator('.floe-Gallery-label')).toHaveText(/^(ship|iceberg)$/);
    // A small group (the labels notebook 07 committed from the SAR viewer): every patch with its label.
    if (total <= 24 && g.features.includes('is_iceberg')) {
      const shownPatches = await tiles.evaluateAll((nodes) =>
        nodes.map(
          (n) =>
            `${n.querySelector('.floe-Gallery-id')?.textContent} ${n.querySelector('.floe-Gallery-label')?.textContent}`,
        ),
      );
      expect(shownPatches.sort()).toEqual(await labelledPatches(g.name, g.version));
    }
    await expect.poll(() => tiles.first().locator('canvas').evaluate(distinctReds)).toBeGreaterThan(10);
    await page.screenshot({ path: screenshotPath(`reviewer-feature-store-${slug(g.name)}-patches.png`) });
    await panel.locator('.floe-FeatureStore-back').click();
  }

  // Each training dataset: its splits, and its lineage back to the commit it is frozen to.
  for (const d of store.datasets) {
    await panel.locator('.floe-FeatureStore-filter').fill(d.name);
    await panel.locator(`.floe-FeatureStore-item[data-floe-dataset="${cssString(d.name)}"]`).click();
    await expect(panel.locator('.floe-FeatureStore-groupTitle')).toHaveText(d.name);
    const lineage = panel.locator('.floe-FeatureStore-lineageLink');
    await expect(lineage).toHaveText(d.lineage);
    for (const [split, rows] of Object.entries(d.splits))
      await expect(panel.locator(`tr[data-floe-split="${split}"]`)).toContainText(String(rows));
    await page.screenshot({ path: screenshotPath(`reviewer-feature-store-dataset-${slug(d.name)}.png`) });
    await lineage.click();
    await expect(panel.locator('.floe-FeatureStore-groupTitle')).toHaveText(d.group);
    await expect(panel.locator(`.floe-FeatureStore-commit[data-floe-commit="${d.commit}"]`)).toHaveAttribute(
      'aria-pressed',
      'true',
    );
    await panel.locator('.floe-FeatureStore-back').click();
  }
  expect(await kernelIds(request), 'the panels started a kernel').toEqual([]);
  expect(errors).toEqual([]);
});

/** How many distinct red values a canvas has (a drawn SAR patch has many; a blank one, one). */
function distinctReds(canvas: HTMLCanvasElement): number {
  const data = canvas.getContext('2d')!.getImageData(0, 0, canvas.width, canvas.height).data;
  const values = new Set<number>();
  for (let i = 0; i < data.length; i += 4) values.add(data[i]!);
  return values.size;
}

async function openExperimentsPanel(page: Page): Promise<Locator> {
  await page.locator('.jp-LauncherCard[data-category="Floe"]', { hasText: 'Experiments' }).click();
  const panel = page.locator('#floe-experiments');
  await expect(panel).toBeVisible();
  await expect(panel.locator('.floe-Experiments-navTitle').first()).toBeVisible();
  return panel;
}

test('reviewer: the experiments panel shows the tutorial runs with their curves, its searches and its ablation', async ({
  page,
  request,
}) => {
  test.setTimeout(300_000);
  const { all, experiments } = await withStore(readExperiments);
  const searches = await withStore(readSearches);
  expect(experiments.length, `the tutorial project at ${tutorialHome} has no experiments`).toBeGreaterThan(0);
  expect(
    searches.searches.filter((s) => s.kind === 'search').length,
    `the tutorial project at ${tutorialHome} has no hyperparameter search`,
  ).toBeGreaterThan(0);
  expect(
    searches.searches.filter((s) => s.kind === 'ablation').length,
    `the tutorial project at ${tutorialHome} has no ablation study`,
  ).toBeGreaterThan(0);
  const errors = await reviewerLab(page, request);
  const panel = await openExperimentsPanel(page);
  const detail = panel.locator('.floe-Experiments-detail');

  // The nav lists exactly the store's experiments and searches.
  const experimentItems = panel.locator('.floe-Experiments-item[data-floe-experiment]');
  await expect(experimentItems).toHaveCount(all.length);
  expect((await datasetValues(experimentItems, 'floeExperiment')).sort()).toEqual([...all].sort());
  const searchItems = panel.locator('.floe-Experiments-item[data-floe-search]');
  await expect(searchItems).toHaveCount(searches.all.length);
  expect((await datasetValues(searchItems, 'floeSearch')).map(Number).sort((a, b) => a - b)).toEqual(searches.all);

  for (const e of experiments) {
    await panel.locator(`.floe-Experiments-item[data-floe-experiment="${cssString(e.name)}"]`).click();
    await expect(panel.locator('.floe-Experiments-heading')).toHaveText(e.name);
    await expect(panel.locator('.floe-Experiments-count')).toHaveText(
      `${e.runs.length} run${e.runs.length === 1 ? '' : 's'}`,
    );
    if (e.runs.length <= 20) {
      const names = panel.locator('.floe-RunsTable-row[data-floe-run-id] .floe-RunsTable-name');
      await expect(names).toHaveCount(e.runs.length);
      expect((await names.allTextContents()).sort()).toEqual(e.runs.map((r) => r.name).sort());
    }
    await page.screenshot({ path: screenshotPath(`reviewer-experiments-${slug(e.name)}-runs.png`) });

    // Every training run (not a search's trials, which the search views show): its facts and curves.
    for (const r of e.runs.filter((x) => x.parent === null && x.kind !== 'search' && x.kind !== 'ablation')) {
      await panel.locator('.floe-Experiments-filter').fill(r.name);
      const row = panel.locator(`.floe-RunsTable-row[data-floe-run-id="${r.id}"]`);
      await expect(row.locator('[data-floe-status]')).toHaveText(r.status);
      await row.locator('.floe-RunsTable-name').click();
      await expect(detail.locator('.floe-Detail-title')).toHaveText(r.name);
      await expect(detail.locator('.floe-Detail-header [data-floe-status]')).toHaveText(r.status);
      await expect(detail.locator('.floe-Detail-meta').first()).toHaveText(`run ${r.id} · ${e.name}`);
      for (const [metric, points] of Object.entries(r.curves)) {
        const line = detail.locator(`[data-floe-chart="${metric} (epoch)"] path.floe-Chart-line`);
        await expect(line).toHaveCount(1);
        expect(pointsOf(await line.getAttribute('d')), `${metric} of run ${r.id}`).toBe(points);
      }
      expect(Object.keys(r.curves)).toContain('val_accuracy');
      await expect(epochsCell(detail)).toHaveText(String(r.epochs));
      await page.screenshot({ path: screenshotPath(`reviewer-experiments-run-${r.id}.png`) });
      if (r.saliency.length) await expectSaliencyAcrossEpochs(detail, r.id, r.saliency);
    }
    await panel.locator('.floe-Experiments-filter').fill('');

    // Runs with saliency images side by side: the same patches at the latest epoch they all have.
    const withImages = e.runs.filter((r) => r.parent === null && r.saliency.length > 0);
    if (withImages.length >= 2) {
      const pair = withImages.slice(-2);
      // Selected with the filter empty (a new filter clears the selection).
      for (const r of pair) await panel.locator(`.floe-RunsTable-row input[data-floe-run-id="${r.id}"]`).check();
      await panel.locator('.floe-Experiments-compare').click();
      await expect(detail.locator('.floe-Detail-title')).toHaveText('Comparing 2 runs');
      const common = Math.max(
        ...pair[0]!.saliency.map((m) => m.epoch).filter((ep) => pair[1]!.saliency.some((m) => m.epoch === ep)),
      );
      const across = saliencySection(detail, 'Saliency across runs').locator('.floe-Saliency-grid');
      await expect(across.locator('caption')).toHaveText(`All runs at epoch ${common}`);
      // Names over 24 characters are cut with an ellipsis in the heading.
      await expect(across.locator('thead th')).toHaveText([
        'patch',
        ...pair.map((r) => `#${r.id} ${r.name.length > 24 ? `${r.name.slice(0, 23)}…` : r.name}`),
      ]);
      const images = across.locator('img.floe-Saliency-image');
      const patches = pair[0]!.saliency[0]!.images.length;
      await expect
        .poll(() => images.evaluateAll((nodes) => nodes.filter((n) => (n as HTMLImageElement).naturalWidth > 0).length))
        .toBe(2 * patches);
      await across.evaluate((n) => n.scrollIntoView({ block: 'start' }));
      await page.screenshot({ path: screenshotPath(`reviewer-experiments-${slug(e.name)}-saliency-runs.png`) });
      for (const r of pair) await panel.locator(`.floe-RunsTable-row input[data-floe-run-id="${r.id}"]`).uncheck();
    }
  }
  // The tutorial's training (notebook 03, or floe pipeline) stores saliency images after every epoch.
  const trained = experiments.flatMap((e) => e.runs).filter((r) => r.parent === null && r.saliency.length > 0);
  expect(trained.length, `no run of the tutorial project at ${tutorialHome} has saliency images`).toBeGreaterThan(0);
  for (const r of trained)
    expect(
      r.saliency.map((m) => m.epoch),
      `saliency epochs of run ${r.id}`,
    ).toEqual(Array.from({ length: r.epochs }, (_, i) => i + 1));

  for (const s of searches.searches) {
    await panel.locator(`.floe-Experiments-item[data-floe-search="${s.id}"]`).click();
    await expect(detail.locator('.floe-Detail-title')).toContainText(s.name);
    if (s.kind === 'ablation') {
      const view = detail.locator('.floe-Ablation');
      await expect(view.locator('.floe-Ablation-base')).toContainText(
        s.baseMetric === null ? `The base trial has no ${s.metric}` : `Base ${s.metric}: ${fmt(s.baseMetric)}`,
      );
      if (s.baseMetric !== null) {
        const bars = view.locator('.floe-Ablation-bar');
        await expect(bars).toHaveCount(s.components.length);
        expect((await datasetValues(bars, 'floeComponent')).sort()).toEqual([...s.components].sort());
      }
      await expect(view.locator('.floe-Ablation-table tbody tr')).toHaveCount(s.trials);
      await page.screenshot({ path: screenshotPath(`reviewer-experiments-ablation-${s.id}.png`) });
    } else {
      await expect(detail.locator('.floe-Search-trials tbody tr')).toHaveCount(s.trials);
      const parallel = detail.locator('.floe-Parallel');
      await expect(parallel.locator('.floe-Parallel-line')).toHaveCount(s.withMetric);
      await expect(parallel.locator('.floe-Parallel-line.floe-mod-stopped')).toHaveCount(s.stopped);
      await expect(parallel.locator('[data-floe-axis]').last().locator('.floe-Parallel-name')).toHaveText(s.metric);
      if (s.best) {
        await expect(detail.locator('.floe-Search-best')).toContainText(
          `Best trial #${s.best.trial}: ${s.metric} ${fmt(s.best.metric)}`,
        );
        await expect(parallel.locator('.floe-Parallel-line.floe-mod-best')).toHaveAttribute(
          'data-floe-trial',
          String(s.best.trial),
        );
      }
      await page.screenshot({ path: screenshotPath(`reviewer-experiments-search-${s.id}.png`) });
    }
  }
  expect(await kernelIds(request), 'the panels started a kernel').toEqual([]);
  expect(errors).toEqual([]);
});

function saliencySection(detail: Locator, title: string): Locator {
  return detail.locator('.floe-Detail-section', {
    has: detail.page().locator('.floe-Detail-sectionTitle', { hasText: title }),
  });
}

/**
 * A run's saliency images in its details: a row per patch (the ids stored with the run), a column per
 * epoch shown, every image loaded through the hub, and p(iceberg) of the last epoch as stored.
 */
async function expectSaliencyAcrossEpochs(detail: Locator, runId: number, saliency: SaliencyMeta[]): Promise<void> {
  const grid = saliencySection(detail, 'Saliency across epochs').locator('.floe-Saliency-grid');
  const shown = saliencyColumns(saliency);
  await expect(grid.locator('thead th')).toHaveText(['patch', ...shown.map((m) => `epoch ${m.epoch}`)]);
  const last = shown[shown.length - 1]!;
  const rows = grid.locator('tbody tr');
  await expect(rows).toHaveCount(last.images.length);
  expect(await datasetValues(rows, 'floePatch')).toEqual(last.images.map((i) => i.patch));
  for (const image of last.images) {
    const p = image.probability;
    await expect(
      grid.locator(`tbody tr[data-floe-patch="${cssString(image.patch)}"] .floe-Saliency-probability`).last(),
    ).toHaveText(p === null ? '' : `p(iceberg) ${Number.isInteger(p) ? String(p) : p.toPrecision(4)}`);
  }
  const images = grid.locator('img.floe-Saliency-image');
  await expect
    .poll(() => images.evaluateAll((nodes) => nodes.filter((n) => (n as HTMLImageElement).naturalWidth > 0).length))
    .toBe(last.images.length * shown.length);
  await grid.evaluate((n) => n.scrollIntoView({ block: 'start' })); // caption and epoch headings in view
  await detail.page().screenshot({ path: screenshotPath(`reviewer-experiments-run-${runId}-saliency.png`) });
}

/** Points in an SVG path drawn as `M x,y L x,y …`. */
function pointsOf(d: string | null): number {
  return (d ?? '').split(/[ML]/).filter(Boolean).length;
}

/** The `epochs` fact of the run shown in the details (the Run section; Params may hold an `epochs` too). */
function epochsCell(detail: Locator): Locator {
  return detail
    .locator('.floe-Detail-section', { has: detail.page().locator('.floe-Detail-sectionTitle', { hasText: /^Run$/ }) })
    .locator('.floe-KeyValue tr', { has: detail.page().locator('th', { hasText: /^epochs$/ }) })
    .locator('td');
}

test('reviewer: the models panel shows the registered model, its production alias, its lineage back to the commit, and its deployment', async ({
  page,
  request,
}) => {
  test.setTimeout(300_000);
  const { all, allDeployments, models, deployments } = await withStore(readModels);
  expect(models.length, `the tutorial project at ${tutorialHome} has no registered model`).toBeGreaterThan(0);
  expect(
    models.some((m) => m.versions.some((v) => v.aliases.includes('@production'))),
    'no tutorial model version has the production alias',
  ).toBe(true);
  const errors = await reviewerLab(page, request);
  await page.locator('.jp-LauncherCard[data-category="Floe"]', { hasText: 'Models' }).click();
  const panel = page.locator('#floe-models');
  await expect(panel).toBeVisible();
  const detail = panel.locator('.floe-Models-detail');

  const modelItems = panel.locator('.floe-Models-item[data-floe-model]');
  await expect(modelItems).toHaveCount(all.length);
  expect((await datasetValues(modelItems, 'floeModel')).sort()).toEqual([...all].sort());
  const deploymentItems = panel.locator('.floe-Models-item[data-floe-deployment]');
  await expect(deploymentItems).toHaveCount(allDeployments.length);
  expect((await datasetValues(deploymentItems, 'floeDeployment')).sort()).toEqual([...allDeployments].sort());

  for (const m of models) {
    await panel.locator(`.floe-Models-item[data-floe-model="${cssString(m.name)}"]`).click();
    await expect(detail.locator('.floe-Models-title')).toHaveText(m.name);
    const rows = detail.locator('.floe-Models-versions tbody tr');
    await expect(rows).toHaveCount(m.versions.length);
    for (const v of m.versions) {
      const row = detail.locator(`.floe-Models-versions tr[data-floe-version="${v.version}"]`);
      await expect(row.locator('.floe-Models-alias')).toHaveText(v.aliases);
      await row.click();
      await expect(row).toHaveAttribute('aria-selected', 'true');
      const graph = detail.locator('.floe-Lineage-svg');
      await expect(graph.locator('[data-floe-node="model"]')).toBeVisible();
      await expect(graph.locator('[data-floe-node="run"]')).toHaveAttribute(
        'aria-label',
        new RegExp(`run ${v.runId}\\b`),
      );
      if (v.commit !== null) {
        const commit = graph.locator('[data-floe-node="commit"]');
        await expect(commit).toHaveAttribute(
          'aria-label',
          new RegExp(`feature group commit: ${escapeRegExp(v.commit)}`),
        );
        await commit.click();
        await expect(detail.locator('.floe-Models-nodeTitle')).toHaveText(`feature group commit: ${v.commit}`);
      }
      await page.screenshot({ path: screenshotPath(`reviewer-models-${slug(m.name)}-v${v.version}.png`) });
    }
  }

  // The deployments notebook 06 (or the pipeline) ran: status, served versions, drift alerts.
  for (const d of deployments) {
    await panel.locator(`.floe-Models-item[data-floe-deployment="${cssString(d.name)}"]`).click();
    await expect(detail.locator('.floe-Models-title')).toHaveText(d.name);
    await expect(detail.locator('[data-floe-status]').first()).toHaveText(d.status);
    for (const s of d.served) await expect(detail.locator(`[data-floe-served="${cssString(s)}"]`)).toBeVisible();
    if (d.alerts) await expect(detail.locator('.floe-Models-alerts tbody tr')).toHaveCount(d.alerts);
    else await expect(detail).toContainText('No drift alerts recorded');
    await page.screenshot({ path: screenshotPath(`reviewer-models-deployment-${slug(d.name)}.png`) });
  }
  expect(await kernelIds(request), 'the panels started a kernel').toEqual([]);
  expect(errors).toEqual([]);
});

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

// ---- the live path ----

async function shutDownKernelsOf(request: APIRequestContext, notebookPath: string): Promise<void> {
  const headers = { Authorization: `token ${lab.token}` };
  const sessions = (await (await request.get(`${lab.url}api/sessions`, { headers })).json()) as {
    id: string;
    path: string;
  }[];
  for (const s of sessions.filter((x) => x.path === notebookPath))
    await request.delete(`${lab.url}api/sessions/${s.id}`, { headers });
}

test('live: a notebook trains on the Floe kernel and the experiments panel follows the run epoch by epoch', async ({
  page,
  request,
}) => {
  test.setTimeout(420_000);
  const epochs = 6;
  // Unique per run: a reused tutorial project (FLOE_TUTORIAL_HOME) keeps the runs of earlier ones.
  const experiment = `reviewer-live-${Date.now().toString(36)}`;
  const runName = 'live lenet';
  const dir = path.join(repoRoot, 'test-results', 'notebooks', `reviewer-${test.info().testId.slice(0, 10)}`);
  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(dir, { recursive: true });
  const source = [
    "import * as floe from 'floe';",
    '// A few synthetic HH/HV patches and a small LeNet: long enough to watch it train in the panel.',
    'const records = floe.generateSynthetic({ seed: 11, count: 192 });',
    'const data = floe.recordsTrainingData(records, { validationFraction: 0.25, seed: 11 });',
    `const result = await floe.train({ model: 'lenet', data, epochs: ${epochs}, batchSize: 16, seed: 11, experiment: '${experiment}', runName: '${runName}', snapshot: false });`,
    'result.model.dispose();',
    'data.dispose?.();',
  ].join('\n');
  fs.writeFileSync(
    path.join(dir, 'live-training.ipynb'),
    JSON.stringify({
      nbformat: 4,
      nbformat_minor: 5,
      metadata: { kernelspec: { name: 'floe-typescript', display_name: 'Floe TypeScript', language: 'typescript' } },
      cells: [{ id: 'train', cell_type: 'code', execution_count: null, metadata: {}, source, outputs: [] }],
    }),
  );
  const nb = path.relative(repoRoot, path.join(dir, 'live-training.ipynb')).split(path.sep).join('/');
  const errors: string[] = [];
  page.on('pageerror', (err) => errors.push(err.message));
  try {
    await openLab(page, lab);
    const panel = await openExperimentsPanel(page);
    await expect(panel.locator(`[data-floe-experiment="${experiment}"]`)).toHaveCount(0);
    // JupyterLab saves the layout a moment after it changes: wait until the workspace holds the panel,
    // or the page load below would restore a layout without it.
    const workspaceUrl = `${lab.url}lab/api/workspaces/floe-test-${test.info().testId}`;
    await expect
      .poll(
        async () => (await request.get(workspaceUrl, { headers: { Authorization: `token ${lab.token}` } })).text(),
        { timeout: 30_000 },
      )
      .toContain('floe-experiments');

    // The notebook opens beside the panel (in the same workspace) and its kernel starts.
    await page.goto(`${lab.url}lab/workspaces/floe-test-${test.info().testId}/tree/${nb}?token=${lab.token}`, {
      waitUntil: 'domcontentloaded',
    });
    await expect(page.locator('#jupyterlab-splash')).toHaveCount(0, { timeout: 90_000 });
    const notebook = page.locator('.jp-NotebookPanel:visible');
    await expect(notebook).toBeVisible({ timeout: 60_000 });
    await expect(page.locator('.jp-Notebook-ExecutionIndicator[data-status="idle"]')).toBeVisible({
      timeout: 120_000,
    });
    // Run the cell (Ctrl+Enter: in place). A request sent while the kernel connection is still settling
    // can be lost (the prompt stays `[ ]`): then run it again.
    const prompt = notebook.locator('.jp-InputArea-prompt').first();
    await expect(async () => {
      await notebook.locator('.jp-Cell').first().click();
      await page.keyboard.press('Control+Enter');
      await expect(prompt).toHaveText(/^\[(\*|\d+)\]:$/, { timeout: 10_000 });
    }).toPass({ timeout: 90_000 });

    // Back to the panel: the run arrives through the event stream while the kernel trains.
    await page.locator('.lm-TabBar-tab', { hasText: 'Floe Experiments' }).click();
    const item = panel.locator(`.floe-Experiments-item[data-floe-experiment="${experiment}"]`);
    await expect(item).toBeVisible({ timeout: 180_000 });
    await item.click();
    const row = panel.locator('.floe-RunsTable-row[data-floe-run-id]').first();
    await expect(row.locator('.floe-RunsTable-name')).toHaveText(runName);
    await row.locator('.floe-RunsTable-name').click();
    const detail = panel.locator('.floe-Experiments-detail');
    await expect(detail.locator('.floe-Detail-title')).toHaveText(runName);
    // Record what the details show each time they are redrawn: status, epochs, points on the val_loss curve.
    await page.evaluate(() => {
      const w = window as unknown as { __floeSeen: string[] };
      w.__floeSeen = [];
      const record = (): void => {
        const d = document.querySelector('#floe-experiments .floe-Experiments-detail');
        const status = d?.querySelector('.floe-Detail-header [data-floe-status]')?.textContent ?? '';
        const runFacts = Array.from(d?.querySelectorAll('.floe-Detail-section') ?? []).find(
          (s) => s.querySelector('.floe-Detail-sectionTitle')?.textContent === 'Run',
        );
        const epochsRow = Array.from(runFacts?.querySelectorAll('.floe-KeyValue tr') ?? []).find(
          (tr) => tr.querySelector('th')?.textContent === 'epochs',
        );
        const curve = d?.querySelector('[data-floe-chart="val_loss (epoch)"] path.floe-Chart-line')?.getAttribute('d');
        const points = curve ? curve.split(/[ML]/).filter(Boolean).length : 0;
        const state = `${status}:${epochsRow?.querySelector('td')?.textContent ?? ''}:${points}`;
        if (w.__floeSeen.at(-1) !== state) w.__floeSeen.push(state);
      };
      record();
      new MutationObserver(record).observe(document.querySelector('#floe-experiments')!, {
        subtree: true,
        childList: true,
        characterData: true,
      });
    });
    await expect(detail.locator('.floe-Detail-header [data-floe-status]')).toHaveText('running');
    await expect(epochsCell(detail)).toHaveText(/^[1-9]/, { timeout: 120_000 });
    await page.screenshot({ path: screenshotPath('reviewer-live-running.png') });
    await expect(detail.locator('.floe-Detail-header [data-floe-status]')).toHaveText('finished', { timeout: 240_000 });
    await expect(epochsCell(detail)).toHaveText(String(epochs));
    await expect(detail.locator('[data-floe-chart="val_loss (epoch)"] path.floe-Chart-line')).toHaveAttribute(
      'd',
      new RegExp(`^M[^ML]+(L[^ML]+){${epochs - 1}}$`),
    );
    await expect(row.locator('[data-floe-status]')).toHaveText('finished');
    await page.screenshot({ path: screenshotPath('reviewer-live-finished.png') });
    const seen = await page.evaluate(() => (window as unknown as { __floeSeen: string[] }).__floeSeen);
    // While it ran, the curve grew epoch by epoch: at least two different running states with points.
    const running = seen.filter((s) => s.startsWith('running:') && !s.endsWith(':0'));
    expect(new Set(running.map((s) => s.split(':')[2])).size, seen.join(' | ')).toBeGreaterThanOrEqual(2);
    expect(seen.at(-1), seen.join(' | ')).toBe(`finished:${epochs}:${epochs}`);

    // The notebook's own output finished too.
    await page.locator('.lm-TabBar-tab', { hasText: 'live-training.ipynb' }).click();
    await expect(
      notebook.locator('.floe-Output[data-floe-mime="application/vnd.floe.training+json"] .floe-Training'),
    ).toHaveAttribute('data-floe-status', 'finished', { timeout: 60_000 });
    expect(errors).toEqual([]);
  } finally {
    await shutDownKernelsOf(request, nb);
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
