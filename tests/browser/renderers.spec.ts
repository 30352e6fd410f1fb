import * as fs from 'node:fs';
import * as path from 'node:path';
import { expect, test, type APIRequestContext, type Locator } from '@playwright/test';
import {
  ABLATION_MIME,
  DRIFT_MIME,
  EXPLANATION_MIME,
  SAR_MIME,
  SEARCH_MIME,
  TRAINING_MIME,
  type DriftPayload,
} from '@floe/schema';
import { driftBundle } from '../../kernel-services/dist/monitoring/display';
import { ablationHtml, searchHtml } from '../../kernel-services/dist/search/display';
import { sarPatchBundle } from '../../kernel-services/dist/show/sar';
import { trainingBundle } from '../../kernel-services/dist/training/live';
import { validationReportBundle, VALIDATION_REPORT_MIME } from '../../kernel-services/dist/validation/render';
import {
  ablationPayload,
  driftReport,
  explanationPayload,
  sarPatch,
  searchPayload,
  trainingState,
  validationReport,
} from './floe-samples';
import { labServer, openNotebook, putSettings, repoRoot, screenshotPath } from './lab';

const lab = labServer();
// Sets a flag instead of alerting, so a test can tell whether any payload text ran as HTML.
const HOSTILE = '<img src=x onerror="window.__floeInjected=1">';

type Bundle = Record<string, unknown>;
const THEMES_PLUGIN = '@jupyterlab/apputils-extension:themes';

/** A notebook in a folder of this test's own under the server's root (the repository), removed after. */
function notebookDir(): string {
  const dir = path.join(repoRoot, 'test-results', 'notebooks', `renderers-${test.info().testId.slice(0, 10)}`);
  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(dir, { recursive: true });
  return dir;
}

function writeNotebook(
  file: string,
  cells: { source: string; outputs?: Bundle[] }[],
  kernel: { name: string; display_name: string } | null,
): string {
  const notebook = {
    nbformat: 4,
    nbformat_minor: 5,
    metadata: kernel ? { kernelspec: { ...kernel, language: 'typescript' } } : {},
    cells: cells.map((c, i) => ({
      id: `cell-${i}`,
      cell_type: 'code',
      execution_count: c.outputs ? i + 1 : null,
      metadata: {},
      source: c.source,
      outputs: (c.outputs ?? []).map((data) => ({ output_type: 'display_data', data, metadata: {} })),
    })),
  };
  fs.writeFileSync(file, JSON.stringify(notebook, null, 1));
  return path.relative(repoRoot, file).split(path.sep).join('/');
}

function floeOutput(notebook: Locator, mime: string): Locator {
  return notebook.locator(`.floe-Output[data-floe-mime="${mime}"]`);
}

function withoutVersion(bundle: Bundle, mime: string, major: number): Bundle {
  return { ...bundle, [mime]: { ...(bundle[mime] as object), version_major: major } };
}

test('every Floe MIME bundle renders in a notebook opened with no kernel, versioned, validated and safe', async ({
  page,
}) => {
  const errors: string[] = [];
  page.on('pageerror', (err) => errors.push(err.message));
  const dir = notebookDir();

  const training = trainingBundle(trainingState({ epochs: 20, done: 20 }));
  // 5,000 epochs under a hostile run name; the HTML fallback is cut short to keep the file small.
  const longRun = {
    ...trainingBundle(trainingState({ epochs: 5000, done: 5000, name: HOSTILE, experiment: `exp ${HOSTILE}` })),
    'text/html': '<p>fallback</p>',
  };
  const search = searchPayload({ trials: 14 });
  const ablation = ablationPayload({ name: HOSTILE });
  const explanation = explanationPayload();
  const sar = sarPatchBundle(sarPatch(), { display: false, title: 'synthetic iceberg, HH/HV' });
  const drift = driftBundle(driftReport({ windows: 5 }));
  const validation = validationReportBundle(validationReport({ id: HOSTILE }));
  const futureTraining = withoutVersion(trainingBundle(trainingState({ epochs: 5, done: 2 })), TRAINING_MIME, 2);
  futureTraining['text/html'] = '<p class="future-fallback">Training from a newer Floe: epoch 2/5</p>';
  const brokenDrift = JSON.parse(JSON.stringify(drift)) as Bundle;
  (brokenDrift[DRIFT_MIME] as DriftPayload).report.windows[1]!.bands[0]!.psi = 'high' as unknown as number;

  const cells: { source: string; outputs: Bundle[] }[] = [
    { source: 'await floe.train(...)', outputs: [training] },
    { source: '// a long run', outputs: [longRun] },
    {
      source: 'await floe.searchBundle(store, 3)',
      outputs: [{ [SEARCH_MIME]: search, 'text/html': searchHtml(search), 'text/plain': 'search 3' }],
    },
    {
      source: 'await floe.ablationBundle(store, 4)',
      outputs: [{ [ABLATION_MIME]: ablation, 'text/html': ablationHtml(ablation), 'text/plain': 'ablation 4' }],
    },
    { source: 'floe.validationReportBundle(report)', outputs: [validation] },
    {
      source: "await floe.explain('iceberg-lenet@production', patch, 'gradcam')",
      outputs: [{ [EXPLANATION_MIME]: explanation, 'text/html': '<p>explanation</p>', 'text/plain': 'explanation' }],
    },
    { source: 'floe.show.sar(patch)', outputs: [sar] },
    { source: 'await floe.monitorDrift(...)', outputs: [drift] },
    { source: '// from a newer Floe', outputs: [futureTraining] },
    { source: '// a damaged payload', outputs: [brokenDrift] },
  ];
  const nb = writeNotebook(path.join(dir, 'floe-outputs.ipynb'), cells, null);
  try {
    const notebook = await openNotebook(page, lab, nb, false);
    const outputs = notebook.locator('.floe-Output');
    await expect(outputs).toHaveCount(cells.length);

    // Training: header, progress complete, both curves, evaluation with confusion matrix, epoch table.
    const run = floeOutput(notebook, TRAINING_MIME).first();
    await expect(run.locator('.floe-Training')).toHaveAttribute('data-floe-status', 'finished');
    await expect(run.locator('.floe-Output-title')).toHaveText('lenet-hh-hv');
    await expect(run.locator('[role="progressbar"]')).toHaveAttribute('aria-valuenow', '100');
    await expect(run.locator('[data-floe-chart="loss"] path.floe-Chart-line')).toHaveCount(2);
    await expect(run.locator('[data-floe-chart="accuracy"] path.floe-Chart-line')).toHaveCount(2);
    await expect(run.locator('.floe-Confusion-count')).toHaveText(['151', '22', '31', '117']);
    await expect(run.locator('.floe-Training-epochs tbody tr')).toHaveCount(20);
    await expect(run.locator('.floe-Training-byAngle tbody tr')).toHaveCount(4);
    await expect(run).toContainText('early stopping: val_loss did not improve');
    await run.screenshot({ path: screenshotPath('renderers-training.png') });

    // 5,000 epochs: the curves are thinned to at most 600 points, the table lists head and tail, the hostile name is text.
    const long = floeOutput(notebook, TRAINING_MIME).nth(1);
    await expect(long.locator('.floe-Output-title')).toHaveText(HOSTILE);
    const pointsDrawn = await long
      .locator('[data-floe-chart="loss"] path.floe-Chart-line')
      .first()
      .evaluate((p) => (p.getAttribute('d')!.match(/[ML]/g) ?? []).length);
    expect(pointsDrawn).toBeGreaterThan(300);
    expect(pointsDrawn).toBeLessThanOrEqual(600);
    await expect(long).toContainText('5000 epochs, drawn from 600 points');
    await expect(long).toContainText('4940 of 5000 epochs not listed here');
    // The spike at 60 % of the run survives downsampling: the loss axis still reaches above 0.36.
    const yTop = Number(await long.locator('[data-floe-chart="loss"] .floe-Chart-tick').first().textContent());
    expect(yTop).toBeGreaterThan(0.36);
    await long.screenshot({ path: screenshotPath('renderers-training-long-hostile.png') });

    // Search: trials with stop reasons, dashed curves of stopped trials, parallel coordinates, best trial.
    const searchOut = floeOutput(notebook, SEARCH_MIME);
    await expect(searchOut.locator('.floe-Search-trialTable tbody tr')).toHaveCount(14);
    await expect(searchOut.locator('.floe-Search-trialTable')).toContainText('median rule:');
    await expect(searchOut.locator('path.floe-Chart-line[stroke-dasharray]')).toHaveCount(
      search.trials.filter((t) => t.status === 'stopped').length,
    );
    await expect(searchOut.locator('.floe-Parallel-line.floe-mod-best')).toHaveCount(1);
    await expect(searchOut.locator('.floe-Search-bestTrial')).toContainText(`best: trial #${search.best!.trial}`);
    await searchOut.screenshot({ path: screenshotPath('renderers-search.png') });

    const ablationOut = floeOutput(notebook, ABLATION_MIME);
    await expect(ablationOut.locator('.floe-Bars-bar')).toHaveCount(5);
    await expect(ablationOut.locator('.floe-Bars-bar.floe-mod-negative')).toHaveCount(4);
    await expect(ablationOut.locator('.floe-Ablation-rows')).toContainText(HOSTILE);
    await ablationOut.screenshot({ path: screenshotPath('renderers-ablation.png') });

    const validationOut = floeOutput(notebook, VALIDATION_REPORT_MIME);
    await expect(validationOut.locator('.floe-Validation')).toHaveAttribute(
      'data-floe-outcome',
      'accepted_with_failures',
    );
    await expect(validationOut.locator('.floe-Validation-fail')).toHaveCount(2);
    await expect(validationOut.locator('.floe-Validation-rejected tbody tr')).toHaveCount(3);
    await expect(validationOut.locator('.floe-Validation-rejected')).toContainText(HOSTILE);
    await validationOut.screenshot({ path: screenshotPath('renderers-validation.png') });

    // Explanation: two canvases drawn from the payload arrays; the overlay is hot where the heatmap peaks.
    const explanationOut = floeOutput(notebook, EXPLANATION_MIME);
    await expect(explanationOut.locator('canvas')).toHaveCount(2);
    const [grey, hot] = await explanationOut.locator('canvas').evaluateAll((canvases) =>
      canvases.map((c) => {
        const px = (c as HTMLCanvasElement).getContext('2d')!.getImageData(36, 37, 1, 1).data;
        return [px[0]!, px[1]!, px[2]!];
      }),
    );
    expect(grey![0]).toBe(grey![1]); // the patch alone is grey
    expect(hot![0]! - hot![2]!).toBeGreaterThan(60); // five pixels from the peak the overlay is orange
    await expect(explanationOut).toContainText('peak at row 37, column 31');
    await explanationOut.screenshot({ path: screenshotPath('renderers-explanation.png') });

    // Patch grid: the bundle's PNG with one caption per panel, and the dB stretch per band.
    const sarOut = floeOutput(notebook, SAR_MIME);
    await expect(sarOut.locator('img.floe-SarGrid-image')).toHaveJSProperty('naturalWidth', 3 * 225 + 2 * 4);
    await expect(sarOut.locator('.floe-SarGrid-caption')).toHaveText(['HH (dB)', 'HV (dB)', 'R HH, G HV, B HH/HV']);
    await expect(sarOut.locator('.floe-SarGrid-bands tbody tr')).toHaveCount(2);
    await sarOut.screenshot({ path: screenshotPath('renderers-sar-grid.png') });

    // Drift: latest window first and open, alerts, histograms, PSI trend over all windows.
    const driftOut = floeOutput(notebook, DRIFT_MIME).first();
    await expect(driftOut.locator('.floe-Drift')).toHaveAttribute('data-floe-status', 'drift');
    await expect(driftOut.locator('details[open] .floe-Drift-alerts li')).toHaveCount(2);
    await expect(driftOut.locator('details[open] .floe-Histogram')).toHaveCount(4);
    await expect(driftOut.locator('[data-floe-chart^="PSI per window"] path.floe-Chart-line')).toHaveCount(2);
    await driftOut.screenshot({ path: screenshotPath('renderers-drift.png') });

    // A newer major: a quiet notice and the bundle's own HTML.
    const future = floeOutput(notebook, TRAINING_MIME).nth(2);
    await expect(future.locator('.floe-Output-notice')).toContainText(
      'training progress format version 2 is not one this Floe extension draws (it knows version 1)',
    );
    await expect(future.locator('.floe-Output-fallback .future-fallback')).toHaveText(
      'Training from a newer Floe: epoch 2/5',
    );
    await expect(future.locator('.floe-Training')).toHaveCount(0);

    // A damaged payload: the field is named, the fallback is still there.
    const broken = floeOutput(notebook, DRIFT_MIME).nth(1);
    await expect(broken.locator('[role="alert"]')).toContainText('This drift report output does not match its format');
    await expect(broken.locator('[role="alert"] li').first()).toContainText('report.windows[1].bands[0].psi:');
    await expect(broken.locator('.floe-Output-fallback .floe-drift')).toBeVisible();
    await future.screenshot({ path: screenshotPath('renderers-unknown-major.png') });
    await broken.locator('[role="alert"]').screenshot({ path: screenshotPath('renderers-invalid-payload.png') });

    // Nothing from the payloads ran as HTML.
    expect(await page.evaluate(() => (window as { __floeInjected?: number }).__floeInjected)).toBeUndefined();
    await expect(notebook.locator('.floe-Output img[src="x"]')).toHaveCount(0);
    expect(errors).toEqual([]);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('Floe outputs follow the dark theme', async ({ page, request }) => {
  const dir = notebookDir();
  const nb = writeNotebook(
    path.join(dir, 'dark.ipynb'),
    [
      { source: 'train', outputs: [trainingBundle(trainingState({ epochs: 12, done: 12 }))] },
      { source: 'drift', outputs: [driftBundle(driftReport({ windows: 3 }))] },
    ],
    null,
  );
  // The theme is a user setting of the shared server: set through the settings API, and put back after.
  await putSettings(request, lab, THEMES_PLUGIN, { theme: 'JupyterLab Dark' });
  try {
    const notebook = await openNotebook(page, lab, nb, false);
    await expect(page.locator('body')).toHaveAttribute('data-jp-theme-light', 'false');
    const run = floeOutput(notebook, TRAINING_MIME);
    await expect(run.locator('.floe-Training')).toBeVisible();
    // Text follows the theme: light text on the dark background.
    const colour = await run.locator('.floe-Output-title').evaluate((n) => getComputedStyle(n).color);
    const [r, g, b] = colour.match(/\d+/g)!.map(Number);
    expect(r! + g! + b!).toBeGreaterThan(400);
    await run.screenshot({ path: screenshotPath('renderers-training-dark.png') });
    await floeOutput(notebook, DRIFT_MIME).screenshot({ path: screenshotPath('renderers-drift-dark.png') });
  } finally {
    await putSettings(request, lab, THEMES_PLUGIN, { theme: 'JupyterLab Light' });
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

async function shutDownKernelsOf(request: APIRequestContext, notebookPath: string): Promise<void> {
  const headers = { Authorization: `token ${lab.token}` };
  const sessions = (await (await request.get(`${lab.url}api/sessions`, { headers })).json()) as {
    id: string;
    path: string;
  }[];
  for (const s of sessions.filter((x) => x.path === notebookPath)) {
    await request.delete(`${lab.url}api/sessions/${s.id}`, { headers });
  }
}

test('live: the Floe kernel trains two epochs and the same output re-renders as progress arrives', async ({
  page,
  request,
}) => {
  test.setTimeout(300_000);
  const errors: string[] = [];
  page.on('pageerror', (err) => errors.push(err.message));
  const dir = notebookDir();
  const experiment = `renderers-live-${test.info().testId.slice(0, 8)}`;
  const nb = writeNotebook(
    path.join(dir, 'live-training.ipynb'),
    [
      {
        source: [
          "import * as floe from 'floe';",
          '// A few synthetic 75 × 75 HH/HV patches, two epochs: enough to see progress arrive.',
          'const records = floe.generateSynthetic({ seed: 7, count: 96 });',
          'const data = floe.recordsTrainingData(records, { validationFraction: 0.25, seed: 7 });',
          `const result = await floe.train({ model: 'lenet', data, epochs: 2, batchSize: 8, seed: 7, experiment: '${experiment}', runName: 'live <b>run</b>', snapshot: false });`,
          'result.model.dispose();',
          'data.dispose?.();',
        ].join('\n'),
      },
    ],
    { name: 'floe-typescript', display_name: 'Floe TypeScript' },
  );
  try {
    const notebook = await openNotebook(page, lab, nb, true);
    // The kernel is up and connected once the status bar names it idle (tslab and TensorFlow load slowly).
    await expect(page.locator('.jp-StatusBar-Widget', { hasText: 'Floe TypeScript | Idle' })).toBeVisible({
      timeout: 150_000,
    });
    // Record every state the training output passes through, and whether it stays the same node.
    await page.evaluate(() => {
      const w = window as unknown as { __floeStates: string[]; __floeNodes: Set<Element> };
      w.__floeStates = [];
      w.__floeNodes = new Set();
      const record = (): void => {
        document.querySelectorAll('.floe-Output[data-floe-mime="application/vnd.floe.training+json"]').forEach((o) => {
          w.__floeNodes.add(o);
          const t = o.querySelector('.floe-Training');
          const state = `${o.getAttribute('data-floe-renders')}:${t?.getAttribute('data-floe-status')}:${t?.getAttribute('data-floe-epoch')}`;
          if (w.__floeStates.at(-1) !== state) w.__floeStates.push(state);
        });
      };
      new MutationObserver(record).observe(document.body, { subtree: true, childList: true, attributes: true });
    });
    // Run the cell; a run asked for while the session was still connecting can be dropped, so ask again.
    const prompt = notebook.locator('.jp-Cell').first().locator('.jp-InputPrompt');
    await expect(async () => {
      if (!/\[[*\d]/.test((await prompt.textContent()) ?? '')) {
        await notebook.locator('.jp-Cell').first().click();
        await page.keyboard.press('Control+Enter');
      }
      await expect(prompt).toHaveText(/\[[*\d]+\]/, { timeout: 10_000 });
    }).toPass({ timeout: 60_000 });
    const output = floeOutput(notebook, TRAINING_MIME);
    await expect(output).toHaveCount(1, { timeout: 180_000 });
    await expect(output.locator('.floe-Training')).toHaveAttribute('data-floe-status', 'finished', {
      timeout: 180_000,
    });
    await expect(output.locator('.floe-Output-title')).toHaveText('live <b>run</b>');
    await expect(output.locator('[role="progressbar"]')).toHaveAttribute('aria-valuenow', '100');
    await expect(output.locator('.floe-Training-epochs tbody tr')).toHaveCount(2);
    await expect(output.locator('[data-floe-chart="loss"] path.floe-Chart-line')).toHaveCount(2);
    await expect(output.locator('.floe-Confusion-count')).toHaveCount(4);
    const { states, nodes } = await page.evaluate(() => {
      const w = window as unknown as { __floeStates: string[]; __floeNodes: Set<Element> };
      return { states: w.__floeStates, nodes: w.__floeNodes.size };
    });
    // One output, re-drawn in place: several renders, running first, finished last.
    expect(nodes, states.join(' | ')).toBe(1);
    expect(
      states.some((s) => s.split(':')[1] === 'running'),
      states.join(' | '),
    ).toBe(true);
    expect(states.at(-1)!.split(':')[1]).toBe('finished');
    expect(Number(states.at(-1)!.split(':')[0])).toBeGreaterThan(1);
    await output.screenshot({ path: screenshotPath('renderers-live-training.png') });
    expect(errors).toEqual([]);
  } finally {
    await shutDownKernelsOf(request, nb);
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
