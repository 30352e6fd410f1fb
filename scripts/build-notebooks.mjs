#!/usr/bin/env node
// Writes the iceberg tutorial notebooks notebooks/01-*.ipynb … from the cell text below (outputs empty,
// stable cell ids). Usage: node scripts/build-notebooks.mjs [--check]   (--check: fail if a notebook differs)
// Edit the cells here, not the .ipynb files; 00-floe-check.ipynb is written by hand and left alone.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const md = (s) => ['markdown', s];
const code = (s) => ['code', s];

const notebooks = {
  '01-data-and-validation': [
    md(`# 01 · Iceberg or ship? The data, and how Floe validates it

Icebergs threaten ships and platforms off Newfoundland and Labrador; aerial reconnaissance is expensive, so the
Statoil/C-CORE challenge asked whether **Sentinel-1 SAR** patches can tell an iceberg from a ship. This tutorial
follows that problem through Floe: data and validation (this notebook), the feature store (02), training (03),
hyperparameter search (04), ablation (05), registry, serving and monitoring (06), and the SAR viewer (07).

**The data format.** Each record is one 75 × 75 patch centred on a target:

| field | meaning |
| --- | --- |
| \`band_1\` | **HH**: transmitted horizontally, received horizontally (co-polarised), 5,625 values in dB |
| \`band_2\` | **HV**: transmitted horizontally, received vertically (cross-polarised), in dB |
| \`inc_angle\` | incidence angle of the radar beam in degrees, or \`"na"\` |
| \`is_iceberg\` | 1 iceberg, 0 ship (absent in the test file) |

**Why dB?** Radar backscatter σ⁰ spans several orders of magnitude: calm sea returns ~10⁻³ of the energy, a steel
ship's corner reflectors return far more than they receive per unit area. On a logarithmic scale (10·log₁₀ σ⁰)
sea, ice and ships fit in one range and multiplicative **speckle** — the grainy interference of many scatterers in
one resolution cell — becomes additive noise a network can learn to ignore.

**HH vs HV.** Smooth or single-bounce surfaces keep the polarisation (strong HH, weak HV); volume scattering and
multiple bounces depolarise the wave (more HV). Ships (metal, double bounces) are bright in both; icebergs are
dimmer and depolarise differently — the ratio between the bands carries much of the signal.

**Why the incidence angle matters.** Sea clutter falls as the beam gets flatter (≈ −0.4 dB per degree): the same
target looks brighter against a darker sea at 45° than at 30°. A model that ignores the angle confuses "bright"
with "bright for this angle". In the challenge data the angle is missing only for ships — a leak worth knowing.

The real files cannot be downloaded here, so Floe ships a seeded **synthetic generator** that writes this exact
format with SAR-like statistics (see \`docs/synthetic-data.md\`). \`FLOE_SIZE\` picks the size of the story:
\`quick\` (tests) or \`full\` (1,604 patches, like the real \`train.json\`).`),
    code(`import * as floe from 'floe';

const size = floe.tutorialSize(); // FLOE_SIZE, default 'full'
console.log(\`size: \${size.name} — \${size.patches} patches; project store: \${floe.storePath()}\`);`),
    md(`## Generate a Statoil-format file

\`ensureSyntheticFile\` writes the seeded file once into the project's \`data/\` folder (the same seed always gives the
same bytes) and returns its path. \`floe generate --out train.json --count 1604\` does the same from a shell.`),
    code(`const file = await floe.ensureSyntheticFile(size, 1, floe.storePath(), console.log);
const fs = require('node:fs') as typeof import('node:fs');
console.log(\`\${file}: \${(fs.statSync(file).size / 1e6).toFixed(1)} MB\`);`),
    md(`## Read it as a stream

The real \`train.json\` is ~200 MB of JSON text: parsing it whole needs several times that in memory. \`readStatoil\`
parses record by record, reports progress, and names the record and field when something is wrong.`),
    code(`type Row = ReturnType<typeof floe.recordToRow>;
const rows: Row[] = [];
let lastReport = 0;
const stream = floe.readStatoil(file, {
  onProgress: (p) => {
    if (p.records - lastReport >= 200) {
      lastReport = p.records;
      console.log(\`  \${p.records} records, \${(p.bytesRead / 1e6).toFixed(1)} MB\`);
    }
  },
});
// tslab runs top-level \`await\` but not top-level \`for await\`: loop inside an async function.
async function readAll(): Promise<number> {
  for await (const rec of stream) rows.push(floe.recordToRow(rec));
  return rows.length;
}
const patchesRead = await readAll();
console.log(\`read \${rows.length} patches\`);`),
    md(`## A first look: per-class means

Averages over every pixel of every patch, per class. The patch is mostly sea, so the difference lives in the
brightest pixels: compare the **peak** (the target) too.`),
    code(`function summary(label: number) {
  const sel = rows.filter((r) => r.is_iceberg === label);
  const mean = (k: 'band_1' | 'band_2') => sel.reduce((s, r) => s + (r[k] as Float32Array).reduce((a, b) => a + b, 0) / 5625, 0) / sel.length;
  const peak = (k: 'band_1' | 'band_2') => sel.reduce((s, r) => s + Math.max(...(r[k] as Float32Array)), 0) / sel.length;
  const noAngle = sel.filter((r) => r.inc_angle === null).length;
  return { patches: sel.length, meanHH: mean('band_1').toFixed(2), meanHV: mean('band_2').toFixed(2), peakHH: peak('band_1').toFixed(2), peakHV: peak('band_2').toFixed(2), missingAngle: noAngle };
}
console.table({ ship: summary(0), iceberg: summary(1) });`),
    md(`Ships have the brighter peaks (hard metal targets, double bounces), icebergs the larger HH − HV gap; the
missing angles are all ships, as in the real data.

## Validate

A **rule set** states what good data looks like: the shape of each band, finite values, physically plausible dB
ranges, a plausible incidence angle, unique ids, at most 15% missing angles, and both classes present. Row rules
reject single records; dataset rules judge the whole delivery. The same rule set is attached to the feature group in
notebook 02, so every commit carries its validation report.`),
    code(`const rules = floe.icebergRules('always');
const report = floe.validate(rows, floe.ICEBERG_SCHEMA, rules);
floe.showBundle(floe.validationReportBundle(report) as unknown as Parameters<typeof floe.showBundle>[0]);
console.log(floe.summarizeReport(report));
if (report.outcome !== 'passed') throw new Error('the synthetic data should pass the default rules');`),
    md(`## What a bad delivery looks like

Real deliveries have glitches: a NaN from a failed calibration, a band cut short, an impossible angle, a duplicated
id. With the \`strict\` policy any failing row fails the whole validation; with \`always\` the bad rows are kept aside,
each with its reasons, and the good rows go on.`),
    code(`const broken: Row[] = rows.slice(0, 20).map((r) => ({ ...r }));
(broken[1] as Row).band_1 = Float32Array.from(broken[1]!.band_1 as Float32Array, (v, i) => (i === 100 ? NaN : v));
(broken[2] as Row).inc_angle = 88;
(broken[3] as Row).band_2 = (broken[3]!.band_2 as Float32Array).slice(0, 5000);
(broken[4] as Row).id = broken[5]!.id;
const badReport = floe.validate(broken, floe.ICEBERG_SCHEMA, floe.icebergRules('always'));
console.log(floe.renderReportText(badReport));
if (badReport.accepted >= broken.length) throw new Error('expected rejected rows');`),
    md(`Next: **02 · the feature store** turns these rows into a versioned feature group with statistics and a training
dataset.`),
  ],

  '02-feature-store': [
    md(`# 02 · Feature store and training dataset

A **feature group** is a versioned table of features with a schema (scalars and 75 × 75 tensors), a primary key
and a validation rule set. Every insert is one atomic, numbered **commit** with statistics and a validation report,
so a model can always say exactly which data it saw. A **training dataset** freezes a selection of features to
one commit, with seeded splits, and exports to TFRecord or Parquet.

\`ensureIcebergData()\` makes whatever of this tutorial's data is missing — the synthetic file, the \`iceberg\` group
and its commit, the derived group and the training dataset — so this notebook runs on its own. Below we look at each
piece it made and how it was made.`),
    code(`import * as floe from 'floe';

const size = floe.tutorialSize();
const data = await floe.ensureIcebergData({ size: size, log: console.log });
const names = floe.tutorialNames(size);
console.log(names);`),
    md(`## The feature group and its commits

The schema records units (dB) and shapes; the rule set is the one from notebook 01, stored as JSON with the group.`),
    code(`const g = data.group;
console.table(g.schema.map((f) => ({ name: f.name, kind: f.kind, dtype: f.dtype, shape: 'shape' in f ? JSON.stringify(f.shape) : '', unit: (f as { unit?: string }).unit ?? '', nullable: f.nullable })));
console.log('primary key:', g.info.primaryKey, ' rule set:', (g.info.ruleSet as { name?: string } | null)?.name);
for (const c of await g.commits()) {
  console.log(\`commit \${c.number}: \${c.rowsInserted} rows inserted, \${c.rowsRejected} kept aside, \${c.totalRows} in the group, at \${c.committedAt.toISOString()}\`);
}`),
    md(`## Statistics

Each commit computes per-feature statistics: for tensors, per-band value counts, min/max/mean/std and a
histogram; for scalars, missing values and a numeric summary. Training later standardises with these, and
monitoring (06) compares live requests against them.`),
    code(`const stats = (await g.statistics())!;
const rowsOf = Object.values(stats.group.features).map((s) => {
  const b = s.bands?.[0];
  const n = s.numeric;
  const v = (x: number | null | undefined) => (typeof x === 'number' ? Number(x.toFixed(2)) : null);
  return { feature: s.name, rows: s.rows, missing: s.missing, min: v(b?.min ?? n?.min), max: v(b?.max ?? n?.max), mean: v(b?.mean ?? n?.mean), std: v(b?.std ?? n?.std) };
});
console.table(rowsOf);
const hh = stats.group.features.band_1!.bands![0]!.histogram!;
const peak = Math.max(...hh.counts);
console.log(\`HH histogram \${hh.lo.toFixed(1)} dB \${hh.counts.map((c) => ' ▁▂▃▄▅▆▇█'[Math.round((8 * c) / peak)]).join('')} \${hh.hi.toFixed(1)} dB\`);`),
    md(`The HH histogram has a big sea-clutter mode around −20 dB and a long bright tail: the targets.

## Derived features: band average and band ratio

The challenge's strong entries fed networks a third channel. Two physically meaningful ones:
- **band average** (HH + HV)/2: overall brightness with part of the speckle averaged out;
- **band ratio** HH/HV in linear power, i.e. **HH − HV in dB**: the depolarisation, which separates
  single-bounce surfaces from volume and multi-bounce scatterers.

A derived group is materialised from one commit of its source and keeps that lineage.`),
    code(`const d = data.derived;
console.log(\`\${d.name} v\${d.version}: \${d.schema.map((f) => f.name).join(', ')}\`);
console.log('lineage:', JSON.stringify(d.info.lineage));
const dStats = (await d.statistics())!.group.features;
for (const f of ['band_avg', 'band_ratio']) {
  const b = dStats[f]!.bands![0]!;
  console.log(\`\${f}: mean \${b.mean!.toFixed(2)} dB, std \${b.std!.toFixed(2)} dB\`);
}`),
    md(`## The training dataset

Features \`band_1, band_2, band_avg, band_ratio, inc_angle\`, label \`is_iceberg\`, splits 70/15/15 with seed 42,
**stratified**: each split keeps the class balance of the whole, so a small validation split is not accidentally
all ships. It is frozen to the derived group's commit: new inserts do not change it.`),
    code(`const td = data.dataset;
console.log(\`\${td.name} v\${td.version}: frozen to \${JSON.stringify(td.spec.lineage.featureGroup)}\`);
const balance: Record<string, { rows: number; icebergs: string }> = {};
for (const split of Object.keys(td.spec.splits)) {
  const labels = (await td.readRows(split)).map((r) => Number(r.is_iceberg));
  balance[split] = { rows: labels.length, icebergs: (labels.reduce((a, b) => a + b, 0) / labels.length).toFixed(3) };
}
console.table(balance);`),
    md(`## Export

TFRecord (\`tf.train.Example\` records, readable by \`tf.data.TFRecordDataset\` in Python) and Parquet (for pandas,
DuckDB, Spark). They land in the project's blob store under \`training-datasets/<name>/v<version>/\` unless
\`dir\` names a folder.`),
    code(`for (const format of ['tfrecord', 'parquet'] as const) {
  const res = await td.export({ format });
  for (const [split, f] of Object.entries(res.files)) console.log(\`\${format} \${split}: \${res.rows[split]} rows, \${(res.bytes[split]! / 1e6).toFixed(1)} MB -> \${f}\`);
}
await data.close();`),
    md(`Next: **03 · training** trains a LeNet-style CNN on this dataset, tracked as an experiment run.`),
  ],

  '03-training': [
    md(`# 03 · Training and experiment tracking

A LeNet-style CNN (two convolution + pooling blocks, a dense layer, dropout, a sigmoid output) on the HH and HV
channels of the training dataset, with TensorFlow.js on the **native** TensorFlow backend. \`floe.train\`:
- streams shuffled batches from the feature store and standardises each channel with the commit's statistics,
- shows live loss/accuracy curves in the cell while it trains,
- records a **run**: parameters, metrics per epoch, environment (backend, TF version, device), the notebook as code
  snapshot, checkpoints and the final model,
- evaluates on the test split: accuracy, log loss (the challenge's metric), ROC AUC, confusion matrix, and
  accuracy per incidence-angle bin,
- with \`saliency: { every, samples }\`, explains a fixed, seeded pick of validation patches after every \`every\`-th
  epoch and stores the images on the run, so the Experiments panel shows where the model looks, epoch by epoch.`),
    code(`import * as floe from 'floe';

const size = floe.tutorialSize();
const data = await floe.ensureIcebergData({ size: size, log: console.log });
console.log(\`\${data.dataset.name}: \${JSON.stringify(data.dataset.info.splitCounts)}; \${size.epochs} epochs\`);`),
    code(`const hhhv = await floe.featureStoreTrainingData(data.dataset, { channels: ['band_1', 'band_2'] });
const lenet = await floe.train({
  model: 'lenet',
  data: hhhv,
  epochs: size.epochs,
  batchSize: size.batchSize,
  learningRate: size.learningRate,
  seed: 42,
  store: data.store,
  experiment: 'iceberg-tutorial',
  runName: 'lenet-hh-hv',
  // Saliency maps of 3 validation patches (the same ones every epoch) after each epoch: a few seconds in all.
  saliency: { every: 1, samples: 3 },
});
lenet.model.dispose();`),
    md(`## Where the model looks, epoch by epoch

Each epoch's images are one run artifact \`saliency/epoch-NNN\`: a PNG per patch (the HH patch in dB, and the
saliency heatmap — |∂p/∂pixel| — over it) with the patch id, its label and the model's p(iceberg) at that epoch.
Open the run in the **Experiments** panel ("Saliency across epochs" in its details) to see them side by side; runs on the same
training dataset explain the same patches, so they line up across runs too.`),
    code(`const saliencyArtifacts = (await new floe.ExperimentTracker(data.store).artifacts(lenet.runId!)).filter((a) => a.name.startsWith('saliency/'));
console.table(saliencyArtifacts.map((a) => { const m = a.meta as { epoch: number; images: { patch: string; label: number | null; probability: number | null }[] }; return { artifact: a.name, epoch: m.epoch, patches: m.images.map((i) => \`\${i.patch} (\${i.label === 1 ? 'iceberg' : 'ship'}): p=\${i.probability?.toFixed(3)}\`).join(', ') }; }));
if (saliencyArtifacts.length !== lenet.epochsCompleted) throw new Error(\`expected saliency images for each of \${lenet.epochsCompleted} epochs, found \${saliencyArtifacts.length}\`);`),
    md(`## Evaluation

Log loss punishes confident mistakes: a model that says 0.99 "iceberg" for a ship pays −ln(0.01) ≈ 4.6. Chance
(always 0.5) scores ln 2 ≈ 0.693. Accuracy per angle bin shows whether the model copes with the change of sea
clutter with incidence angle.`),
    code(`const ev = lenet.evaluation!;
console.log(\`\${ev.split}: accuracy \${ev.accuracy.toFixed(3)}, log loss \${ev.logLoss.toFixed(3)} (chance 0.693), ROC AUC \${ev.rocAuc.toFixed(3)}\`);
console.log('confusion [[ships right, ships called icebergs], [icebergs called ships, icebergs right]]:', JSON.stringify(ev.confusion.matrix));
if (ev.byAngle) console.table(ev.byAngle);
console.log(\`\${lenet.samplesPerSecond.toFixed(1)} samples/s on \${lenet.environment.tensorflow.device} (TF \${lenet.environment.tensorflow.version})\`);`),
    md(`## A second run: add the derived channels

The same LeNet on four channels: HH, HV and the derived band average and band ratio from notebook 02. Same data
split and seed; the experiment tracker keeps both runs side by side. (The zoo's \`extremeearth-cnn-angle\` also
feeds the incidence angle to the dense head — try it with \`model: 'extremeearth-cnn-angle'\`; it is a larger
network and several times slower on a CPU.)`),
    code(`const fourChannels = await floe.featureStoreTrainingData(data.dataset, { channels: ['band_1', 'band_2', 'band_avg', 'band_ratio'] });
const withDerived = await floe.train({
  model: 'lenet',
  data: fourChannels,
  epochs: size.epochs,
  batchSize: size.batchSize,
  learningRate: size.learningRate,
  seed: 42,
  store: data.store,
  experiment: 'iceberg-tutorial',
  runName: 'lenet-hh-hv-avg-ratio',
  saliency: { every: 1, samples: 3 },
});
withDerived.model.dispose();
console.log(\`HH+HV: accuracy \${lenet.evaluation!.accuracy.toFixed(3)}, log loss \${lenet.evaluation!.logLoss.toFixed(3)} | with derived channels: accuracy \${withDerived.evaluation!.accuracy.toFixed(3)}, log loss \${withDerived.evaluation!.logLoss.toFixed(3)}\`);
await hhhv.close();
await fourChannels.close();`),
    md(`## Runs

Every run of the experiment, newest first — the same list the Experiments panel shows.`),
    code(`const tracker = new floe.ExperimentTracker(data.store);
const runs = await tracker.listRuns({ experiment: 'iceberg-tutorial' });
console.table(runs.slice(0, 10).map((r) => ({ id: r.id, name: r.name, status: r.status, epochs: r.epochsCompleted, eval_accuracy: r.summary.eval_accuracy, eval_log_loss: r.summary.eval_log_loss, started: r.startedAt })));
if (!runs.some((r) => r.id === lenet.runId && r.status === 'finished')) throw new Error('the LeNet run should be listed as finished');
await data.close();`),
    md(`Next: **04 · hyperparameter search** looks for a better learning rate, dropout, filters and kernel size.`),
  ],

  '04-hyperparameter-search': [
    md(`# 04 · Hyperparameter search with early stopping

Floe's search follows **Maggy**: a driver hands trials to asynchronous workers; a worker takes the next trial as
soon as it is free (no waiting for the slowest of a batch); each trial reports its metric every epoch (also its
heartbeat), and the driver may tell it to stop. **Median early stopping**: once enough trials have finished, a
trial whose best value so far is worse than the median of the finished trials' running averages at the same step
is stopped — its worker moves on.

Three optimizers over the same space (learning rate on a log scale, dropout, filters, kernel):
- **random** sampling, the honest baseline;
- **ASHA** (asynchronous successive halving): many trials at a small budget (epochs), the best promoted to larger ones;
- **TPE** (tree-structured Parzen estimator): a Bayesian optimizer that samples where good trials were.

Trials run in **local worker processes** (\`floe worker\` on other hosts with Redis scales the same search out). Each
trial trains the iceberg LeNet (\`search/trials/iceberg-lenet.ts\`) on seeded synthetic patches; to keep the
search affordable the patches are smaller than 75 × 75 in this tutorial.`),
    code(`import * as floe from 'floe';

const size = floe.tutorialSize();
const store = await floe.openProjectStore();
const executor = new floe.LocalProcessExecutor({ workers: 2, gpus: [] });
await executor.start();
// (Later cells write { store: store } rather than { store }: tslab does not carry shorthand properties across cells.)
console.log(\`\${size.search.trials} trials per optimizer, \${size.search.epochs} epochs, \${size.search.samples} patches of \${size.search.patchSize} px\`);`),
    code(`const stamp = new Date().toISOString().slice(0, 19);
const random = await floe.runSearch(floe.tutorialSearchConfig(size, 'random', \`random \${stamp}\`), { store: store, executor: executor });
floe.showBundle((await floe.searchBundle(store, random.searchId)) as unknown as Parameters<typeof floe.showBundle>[0]);
console.log(\`random: best trial \${random.best?.number} val_accuracy \${random.best?.metric?.toFixed(3)}, \${random.stoppedEarly} stopped early, \${(random.wallMs / 1000).toFixed(1)} s, utilisation \${random.utilisation.toFixed(2)}\`);`),
    md(`## ASHA

Budgets are epochs: rung 0 trains for 1 epoch, promotions train longer. ASHA does its own stopping, so the median
rule is off.`),
    code(`const asha = await floe.runSearch(
  { ...floe.tutorialSearchConfig(size, { name: 'asha', minResource: 1, maxResource: size.search.epochs, reductionFactor: 3 }, \`asha \${stamp}\`), earlyStopping: null },
  { store: store, executor: executor },
);
floe.showBundle((await floe.searchBundle(store, asha.searchId)) as unknown as Parameters<typeof floe.showBundle>[0]);
console.log(\`ASHA: best trial \${asha.best?.number} val_accuracy \${asha.best?.metric?.toFixed(3)} (budget \${asha.best?.budget}), \${(asha.wallMs / 1000).toFixed(1)} s\`);`),
    md(`## TPE`),
    code(`const tpe = await floe.runSearch(floe.tutorialSearchConfig(size, 'tpe', \`tpe \${stamp}\`), { store: store, executor: executor });
floe.showBundle((await floe.searchBundle(store, tpe.searchId)) as unknown as Parameters<typeof floe.showBundle>[0]);
console.log(\`TPE: best trial \${tpe.best?.number} val_accuracy \${tpe.best?.metric?.toFixed(3)}, \${(tpe.wallMs / 1000).toFixed(1)} s\`);`),
    md(`## Asynchronous vs synchronous

The same random trials once more in **synchronous** mode: batches of two trials, each batch waiting for its slowest,
no early stopping — how a Spark stage per batch behaves. The difference in wall-clock is what asynchronous workers
plus early stopping save. With a handful of short, similar trials (the quick size) it is small or even negative —
the driver's bookkeeping costs more than it saves; it grows with many trials of uneven length, where synchronous
batches wait for their slowest member and the median rule cuts hopeless trials (\`floe bench search\` measures it
at 4–16 workers).`),
    code(`const sync = await floe.runSearch({ ...floe.tutorialSearchConfig(size, 'random', \`random sync \${stamp}\`), mode: 'sync', earlyStopping: null }, { store: store, executor: executor });
console.table({
  asynchronous: { seconds: (random.wallMs / 1000).toFixed(1), utilisation: random.utilisation.toFixed(2), stoppedEarly: random.stoppedEarly, best: random.best?.metric?.toFixed(3) },
  synchronous: { seconds: (sync.wallMs / 1000).toFixed(1), utilisation: sync.utilisation.toFixed(2), stoppedEarly: sync.stoppedEarly, best: sync.best?.metric?.toFixed(3) },
});
console.log(\`saved \${((sync.wallMs - random.wallMs) / 1000).toFixed(1)} s\`);
for (const r of [random, asha, tpe, sync]) if (r.status !== 'completed' || r.errors > 0) throw new Error(\`search \${r.searchId} ended \${r.status} with \${r.errors} errors\`);
await executor.close();
await store.close();`),
    md(`The searches are stored: \`floe search list\`, \`floe search show ID\`, and the Experiments panel show them, and a
search whose kernel died resumes with \`floe.resumeSearch(id)\`.

Next: **05 · ablation** asks which inputs and layers the model actually needs.`),
  ],

  '05-ablation': [
    md(`# 05 · Ablation: which inputs and layers matter?

An **ablation study** (after AutoAblation) trains one base model with every component, then one model per component
with that component left out, all with the same data and the same weight initialisation, so the difference in
validation accuracy is the component's contribution. Components here:
- input features: **HH**, **HV** (each polarisation on its own carries part of the signal), and the incidence
  **angle**;
- layers: the second convolution block (**conv2**) and the dense layer (**dense1**).

The trials run on the same executors as a search and are stored the same way.`),
    code(`import * as floe from 'floe';

const size = floe.tutorialSize();
const store = await floe.openProjectStore();
const executor = new floe.LocalProcessExecutor({ workers: 2, gpus: [] });
const study = { ...floe.tutorialAblationConfig(size), name: \`iceberg ablation \${new Date().toISOString().slice(0, 19)}\` };
console.log(floe.ablationPlan(study));`),
    code(`const result = await floe.runAblation(study, { store: store, executor: executor });
floe.showBundle((await floe.ablationBundle(store, result.searchId)) as unknown as Parameters<typeof floe.showBundle>[0]);
const base = result.trials.find((t) => t.params.component === 'base')!;
console.table(result.trials.map((t) => ({ component: t.params.component, kind: t.params.kind, val_accuracy: t.metric?.toFixed(3), delta: t.metric !== null && base.metric !== null ? (t.metric - base.metric).toFixed(3) : '' })));
if (result.status !== 'completed' || result.errors > 0) throw new Error(\`ablation ended \${result.status} with \${result.errors} errors\`);
await executor.close();
await store.close();`),
    md(`How to read it: a large drop when a component is removed means the model leans on it. With the tutorial's
small, short trials the differences are noisy — a single run is not proof; \`FLOE_SIZE=full\` trains longer on more
patches. Physically, each polarisation alone loses the depolarisation (HH − HV), where ships and icebergs differ
most, and the angle tells the network how dark the sea should be; whether the network can do without a component
is exactly what the table measures.

Next: **06 · registry, serving and monitoring**.`),
  ],

  '06-registry-serving-monitoring': [
    md(`# 06 · Model registry, serving and monitoring

A trained model becomes useful when others can find it, call it, and trust that it still works:
- the **model registry** numbers versions per model name, keeps each version's metrics, signature (channels,
  input shape, the standardisation training used) and **lineage** back to the run, the training dataset and the
  feature group commit; **aliases** such as \`production\` move atomically from one version to another;
- **serving** exposes registered versions over TensorFlow Serving's REST API (\`POST /v1/models/NAME:predict\`
  with \`{"instances": [...]}\`), batching concurrent requests and logging them to the project store;
- **monitoring** compares what the served model sees with the training statistics. SAR inputs drift for physical
  reasons: a different beam mode or incidence-angle range (sea clutter falls with angle), a calibration change
  (a constant dB offset), another season's sea state or wind. A model trained on one regime silently degrades
  on another; the drift report flags it before the accuracy numbers can (there are no labels in production).`),
    code(`import * as floe from 'floe';

const size = floe.tutorialSize();
const data = await floe.ensureIcebergData({ size: size, log: console.log });
const names = floe.tutorialNames(size);
const store = data.store;
const registry = new floe.ModelRegistry(store);
const tracker = new floe.ExperimentTracker(store);`),
    md(`## Register a model

The LeNet run of notebook 03 when it exists; otherwise this notebook trains one now (same settings).`),
    code(`let runId = (await tracker.listRuns({ experiment: 'iceberg-tutorial', status: 'finished' })).find((r) => r.name === 'lenet-hh-hv')?.id;
if (runId === undefined) {
  const trainingData = await floe.featureStoreTrainingData(data.dataset, { channels: ['band_1', 'band_2'] });
  const r = await floe.train({ model: 'lenet', data: trainingData, epochs: size.epochs, batchSize: size.batchSize, learningRate: size.learningRate, seed: 42, store: store, experiment: 'iceberg-tutorial', runName: 'lenet-hh-hv' });
  r.model.dispose();
  await trainingData.close();
  runId = r.runId!;
}
const version = await registry.register({ runId: runId, name: names.model, aliases: ['production'], description: 'LeNet on HH and HV (tutorial)' });
console.log(\`registered \${version.name}:\${version.version} aliases \${version.aliases.join(', ')}; metrics\`, version.metrics);
const chain = await registry.lineage(\`\${names.model}@production\`);
console.log(JSON.stringify({ run: { id: chain.run.id, name: chain.run.name, experiment: chain.run.experiment }, dataset: chain.trainingDataset, featureGroupCommit: chain.featureGroupCommit }, null, 1));`),
    md(`## Why does it say iceberg?

Interpretability is one of the open problems of Earth-observation deep learning: a reviewer should see *what* in
the patch the model looked at. Two explanations of one prediction of the registered model, drawn over the HH band:
- **saliency**: how much the predicted probability changes with each input pixel (|∂p/∂x|, largest over channels);
- **Grad-CAM**: the last convolution's feature maps weighted by their mean gradient, the positive part upsampled to
  the patch — coarser, but it shows the *region* that supports the answer.

For a trained model both light up the bright target in the middle and not the sea clutter around it. From a shell,
\`floe models explain NAME@production --data patches.json --png explain.png\` writes the same picture.`),
    code(`const [patch] = floe.servingPatches(1, 107);
const sal = await floe.explain(\`\${names.model}@production\`, patch!, 'saliency', { store: store });
const cam = await floe.explain(\`\${names.model}@production\`, patch!, 'gradcam', { store: store });
// Where the saliency mass sits: the share of it in the central 25 × 25 pixels, where the target is.
const { width, height, values } = sal.heatmap;
let centre = 0;
let total = 0;
values.forEach((v, i) => {
  const r = Math.floor(i / width);
  const c = i % width;
  total += v;
  if (Math.abs(r - height / 2) < 12.5 && Math.abs(c - width / 2) < 12.5) centre += v;
});
console.log(\`patch \${patch!.id}: p(iceberg) = \${sal.probability.toFixed(3)}; \${((100 * centre) / total).toFixed(0)} % of the saliency in the central 11 % of the patch\`);
if (Math.abs(sal.probability - cam.probability) > 1e-6) throw new Error('both explanations explain the same prediction');`),
    md(`## Serve it

\`floe.serve\` (or \`floe serve\` from a shell) starts the REST server on loopback; port 0 picks a free port. The served
function includes the training standardisation, so clients send what they have: bands in dB, channels last.`),
    code(`const server = await floe.serve({ store: store, port: 0, models: [names.model], pollIntervalMs: 0, requestLog: { flushIntervalMs: 50 } });
const base = \`\${server.url}/v1/models/\${names.model}\`;
console.log(await (await fetch(base)).json());
const meta = (await (await fetch(\`\${base}/metadata\`)).json()) as { metadata: { signature_def: { signature_def: Record<string, { inputs: unknown }> } } };
console.log('inputs:', JSON.stringify(meta.metadata.signature_def.signature_def.serving_default!.inputs));`),
    code(`const patches = floe.servingPatches(4, 101);
const res = await fetch(\`\${base}/labels/production:predict\`, { method: 'POST', body: JSON.stringify({ instances: patches.map((p) => floe.patchInstance(p)) }) });
const answer = (await res.json()) as { predictions: number[][] };
console.table(patches.map((p, i) => ({ id: p.id, inc_angle: p.inc_angle, p_iceberg: answer.predictions[i]![0]!.toFixed(3) })));
const bad = await fetch(\`\${base}:predict\`, { method: 'POST', body: JSON.stringify({ instances: [{ image: [[1, 2]] }] }) });
console.log(\`a malformed request gets \${bad.status}:\`, await bad.json());
if (res.status !== 200 || bad.status !== 400) throw new Error('unexpected status codes');`),
    md(`## Latency

One patch per request, one request at a time: JSON encoding, HTTP on loopback, the batcher and \`predict\`.
(\`floe bench serve\` measures throughput under concurrency with batching.)`),
    code(`const ms: number[] = [];
for (const p of floe.servingPatches(Math.min(size.monitoring.requests, 40), 103)) {
  const t0 = performance.now();
  const r = await fetch(\`\${base}:predict\`, { method: 'POST', body: JSON.stringify({ instances: [floe.patchInstance(p)] }) });
  await r.json();
  ms.push(performance.now() - t0);
}
ms.sort((a, b) => a - b);
console.log(\`\${ms.length} requests: p50 \${ms[Math.floor(ms.length / 2)]!.toFixed(1)} ms, p95 \${ms[Math.floor(ms.length * 0.95)]!.toFixed(1)} ms\`);`),
    md(`## Drift

Two streams: new patches like the training data, then patches whose backscatter is **3 dB brighter** — what a
calibration change or a different incidence-angle regime does to σ⁰. Every request was logged with a summary of
its inputs; \`monitorDrift\` compares the served distributions with the feature group statistics of the training
commit (population stability index, Kolmogorov–Smirnov, mean shift in standard deviations, prediction rate).`),
    code(`async function streamPatches(recs: ReturnType<typeof floe.servingPatches>) {
  const since = new Date();
  await new Promise((r) => setTimeout(r, 5));
  for (const p of recs) await (await fetch(\`\${base}/labels/production:predict\`, { method: 'POST', body: JSON.stringify({ instances: [floe.patchInstance(p)] }) })).json();
  await server.requestLog!.flush();
  await new Promise((r) => setTimeout(r, 5));
  return { since, until: new Date() };
}
const normalRange = await streamPatches(floe.servingPatches(size.monitoring.requests, 104));
const normal = await floe.monitorDrift({ model: \`\${names.model}@production\`, store: store, ...normalRange });
console.log(\`like the training data: \${normal.windows[0]!.status}\`);
for (const a of normal.windows[0]!.alerts) console.log(\`  alert \${a.feature}.\${a.metric}: \${a.message}\`);
if (normal.windows[0]!.alerts.some((a) => a.feature.startsWith('band_'))) throw new Error('no input drift expected on patches like the training data');`),
    md(`The inputs of this stream match the training statistics. An alert on \`prediction\` alone would say something
else: the share of patches the model calls icebergs differs from the training labels' — with the quick size's
barely trained model that is expected; with a good model it is the first sign that the class mix of the sea has
changed.`),
    code(`const shiftedRange = await streamPatches(floe.servingPatches(size.monitoring.requests, 105, 3));
const shifted = await floe.monitorDrift({ model: \`\${names.model}@production\`, store: store, ...shiftedRange });
console.log(\`shifted by +3 dB: \${shifted.windows[0]!.status}\`);
for (const a of shifted.windows[0]!.alerts) console.log(\`  alert \${a.feature}.\${a.metric}: \${a.message}\`);
if (shifted.windows[0]!.status !== 'drift') throw new Error('the shifted stream should drift');
await server.close();
await data.close();`),
    md(`Alerts are stored with the report (\`floe monitor MODEL\` prints them from a shell). The fix is not in the model
alone: check the calibration, the beam mode and angle range of the new data, then retrain on a new commit of the
feature group — lineage says exactly which data the current version saw.

Next: **07 · SAR viewer and labeling**.`),
  ],
  '07-sar-viewer-and-labeling': [
    md(`# 07 · The SAR viewer, overlays and labeling into the feature store

The patches of notebooks 01–06 were cut from whole Sentinel-1 scenes. This notebook goes back to a **real scene**:
a Sentinel-1A IW GRD (ground range detected, high resolution) over the Indian west coast, VV and VH, decimated to
1,280 × 837 pixels (\`../shared/data\`, see its README; set \`FLOE_REAL_DATA\` to the folder holding
\`s1-grd-rio-tiler/\` if it lives elsewhere).

**What is in the file.** GRD pixels are **digital numbers of amplitude** (UInt16), not dB: σ⁰ in dB is
20·log₁₀(DN) minus a calibration constant. The file carries no affine transform, only **ground control points**
(GCPs: pixel ↔ lon/lat pairs on a grid). Floe places the image by fitting the GCPs and says how well they fit.

**In JupyterLab**, open \`iw-vv.tiff\` from the file browser: the SAR Viewer draws it in dB as a VV/VH composite,
reads pixel values under the pointer, shows overlays (committed labels, \`.geojson\` files beside the raster) and
lets you click labels onto the image and commit them. This notebook does the same from code, with the same
library call the viewer's "Commit labels" button uses.`),
    code(`import * as floe from 'floe';
const path = require('node:path') as typeof import('node:path');
const fs = require('node:fs') as typeof import('node:fs');

const GRD = 's1-grd-rio-tiler/S1A_IW_GRDH_1SDV_20180716T004042_20180716T004107_022812_02792A_FD5B/measurement';
const candidates = [process.env.FLOE_REAL_DATA, '../../shared/data', '../shared/data'].filter((p): p is string => !!p);
const dataDir = candidates.map((p) => path.resolve(p)).find((d) => fs.existsSync(path.join(d, GRD, 'iw-vv.tiff')));
if (!dataDir) throw new Error(\`the Sentinel-1 scene was not found under \${candidates.join(', ')}: set FLOE_REAL_DATA to the folder holding s1-grd-rio-tiler/\`);
const vvPath = path.join(dataDir, GRD, 'iw-vv.tiff');
const scene = await floe.RasterFile.open(vvPath);
const g = scene.info.georeferencing;
console.log(\`\${path.basename(vvPath)}: \${scene.info.width}×\${scene.info.height} px, \${scene.info.bands[0]!.dataType}, overviews \${scene.info.overviews.map((o) => \`\${o.width}×\${o.height}\`).join(', ')}\`);
if (g.kind === 'gcps') console.log(\`placed from \${g.gcps.length} GCPs (polynomial order \${g.order}, RMS \${g.rmsPixels.toFixed(2)} px)\`);
const centre = scene.pixelToLonLat(scene.info.width / 2, scene.info.height / 2);
console.log(\`scene centre ≈ \${centre.lon.toFixed(3)} E, \${centre.lat.toFixed(3)} N\`);`),
    md(`## Candidate targets as an overlay

Ships are bright, compact scatterers on a dark sea. A crude detector — the brightest pixels of the VV overview in
dB, kept at least 40 pixels apart — gives **candidates with a score** (how far above the scene's 98th percentile
they are). A trained model's detections would come in the same shape: GeoJSON points in lon/lat with a class and a
score. Overlays use GeoJSON coordinates: \`crs: 'lonlat'\` (placed through the GCP fit) or \`crs: 'pixel'\`.`),
    code(`const ov = scene.info.overviews[0]!; // 640×419: quick to scan
const side = Math.max(ov.width, ov.height);
const chip = await scene.readChip(0, 0, side, { overview: ov.image });
const db = floe.amplitudeToDb(chip.bands[0]!, { nodata: scene.info.nodata });
const finite = Array.from(db).filter(Number.isFinite).sort((a, b) => a - b);
const p98 = finite[Math.floor(0.98 * finite.length)]!;
const order = Array.from(db.keys()).filter((i) => db[i]! > p98 + 6).sort((a, b) => db[b]! - db[a]!);
const picked: { col: number; row: number; db: number }[] = [];
for (const i of order) {
  const col = (i % side) * ov.factor[0];
  const row = Math.floor(i / side) * ov.factor[1];
  // Whole 75×75 chips only: candidates at least 38 px inside the image.
  const inside = col >= 38 && row >= 38 && col < scene.info.width - 38 && row < scene.info.height - 38;
  if (inside && picked.every((p) => Math.hypot(p.col - col, p.row - row) > 40)) picked.push({ col, row, db: db[i]! });
  if (picked.length === 8) break;
}
const predictions = {
  name: 'bright-target candidates',
  kind: 'predictions' as const,
  crs: 'lonlat' as const,
  features: picked.map((p) => {
    const ll = scene.pixelToLonLat(p.col + 0.5, p.row + 0.5);
    const score = Math.min(1, (p.db - p98) / 20);
    return { type: 'Feature' as const, geometry: { type: 'Point' as const, coordinates: [ll.lon, ll.lat] as [number, number] }, properties: { class: 'ship', score: score } };
  }),
};
console.log(\`98th percentile \${p98.toFixed(1)} dB; \${picked.length} candidates, top score \${predictions.features[0]?.properties.score.toFixed(2)}\`);
const candidatesView = await floe.show.sar(vvPath, { overlays: [predictions], title: 'VV in dB with bright-target candidates' });`),
    md(`## Labels → chips → a feature group commit

A label is a point (column, row of the full-resolution image) and a class. \`floe.commitLabels\` — the call behind
the viewer's **Commit labels** button (\`POST /v1/labels/commit\` on the hub) — cuts a 75 × 75 chip of VV and of VH
around each point, converts them to dB, checks each chip holds data, and inserts all of them as **one commit** of a
feature group in the iceberg schema (\`band_1\` co-pol, \`band_2\` cross-pol) plus where the chip came from and who
labelled it. The group is created on first use; every later commit is numbered, with statistics, so training
datasets can be frozen to it. Raster paths must lie inside the allowed folders (here the data folder).`),
    code(`const store = await floe.FeatureStore.open();
const stamp = Date.now().toString(36);
const labels = picked.slice(0, 3).map((p, i) => ({ id: \`nb-\${stamp}-\${i + 1}\`, col: p.col + 0.5, row: p.row + 0.5, class: (i === 1 ? 'iceberg' : 'ship') as 'ship' | 'iceberg' }));
const result = await floe.commitLabels(
  store,
  { featureGroup: 'sar_labels', raster: path.join(GRD, 'iw-vv.tiff'), labels: labels, labelledBy: 'notebook 07' },
  { roots: [dataDir] },
);
console.log(\`\${result.featureGroup.name} v\${result.featureGroup.version}: commit \${result.commit.number}, \${result.commit.rowsInserted} rows inserted, \${result.commit.totalRows} in all\`);
for (const c of result.chips) console.log(\`  \${c.id}: \${c.class}, window at col \${c.col0}, row \${c.row0}, \${(c.validFraction * 100).toFixed(0)} % valid, \${c.lon?.toFixed(3)} E \${c.lat?.toFixed(3)} N\`);`),
    md(`## The new commit in the feature store

The commit is an ordinary feature-group commit: listed with its row counts, with per-band statistics, readable as
of that commit. A chip read back is a Statoil-style patch — \`floe.show.sar\` draws it like the tutorial's patches.`),
    code(`const group = await store.getFeatureGroup('sar_labels');
for (const c of await group.commits()) console.log(\`commit \${c.number}: +\${c.rowsInserted} rows (\${c.totalRows} total) at \${c.committedAt.toISOString()}\`);
const stats = (await group.statistics())!.group.features;
const mean = (f: string): string => stats[f]!.bands![0]!.mean!.toFixed(2);
console.log(\`over all commits: band_1 (VV) mean \${mean('band_1')} dB, band_2 (VH) mean \${mean('band_2')} dB\`);
const rows = await group.read({ filter: \`id = '\${result.chips[0]!.id}'\` });
const bands = [{ name: 'VV', values: rows[0]!.band_1 as Float32Array }, { name: 'VH', values: rows[0]!.band_2 as Float32Array }];
const chipView = floe.show.sar({ width: 75, height: 75, bands: bands }, { title: \`\${rows[0]!.id} (\${rows[0]!.is_iceberg ? 'iceberg' : 'ship'})\` });`),
    md(`The viewer shows committed labels as an overlay (points and chip footprints) the next time the scene opens; the
same overlays come from the library:`),
    code(`const committed = await floe.committedLabelOverlays(store, path.join(GRD, 'iw-vv.tiff'));
const committedView = await floe.show.sar(vvPath, { overlays: committed, title: 'committed labels and their 75×75 chips' });
await scene.close();
await store.close();`),
  ],
};

function toIpynb(cells) {
  return {
    cells: cells.map(([kind, source], i) => {
      const id = `cell-${String(i).padStart(2, '0')}`;
      return kind === 'markdown'
        ? { cell_type: 'markdown', id, metadata: {}, source }
        : { cell_type: 'code', execution_count: null, id, metadata: {}, outputs: [], source };
    }),
    metadata: {
      kernelspec: { display_name: 'Floe TypeScript', language: 'typescript', name: 'floe-typescript' },
      language_info: { name: 'typescript', file_extension: '.ts', mimetype: 'text/typescript' },
      floe: { generated: 'scripts/build-notebooks.mjs — edit the cells there, then run it' },
    },
    nbformat: 4,
    nbformat_minor: 5,
  };
}

const check = process.argv.includes('--check');
let stale = 0;
for (const [name, cells] of Object.entries(notebooks)) {
  const file = path.join(root, 'notebooks', `${name}.ipynb`);
  const text = JSON.stringify(toIpynb(cells), null, 1) + '\n';
  if (check) {
    if (!fs.existsSync(file) || fs.readFileSync(file, 'utf8') !== text) {
      stale++;
      console.error(`${file} is out of date: run node scripts/build-notebooks.mjs`);
    }
  } else fs.writeFileSync(file, text);
}
if (stale) process.exit(1);
