/**
 * The floe library: the one public entry used from notebooks (tslab compiles cells to CommonJS, so
 * this package is CommonJS too) and by the hub, the CLI and workers.
 */
export { FLOE_VERSION } from './version';
export { info } from './info';
export { floeRoot, storePath } from './env/paths';
export { loadTf, tensorflowInfo, tfVariant, NativeBackendError, type Tf, type TfVariant } from './training/backend';
export { buildLenet, DEFAULT_LENET, type LenetSpec } from './training/models';
export { trainSmoke, type SmokeResult } from './training/smoke';
export * from './store';
export * from './feature-store';
// Training, experiment tracking, model registry and explanations.
export { buildModel, MODEL_NAMES, type ModelName, type ZooOptions } from './training/zoo';
export {
  evaluateBinary,
  accuracy,
  logLoss,
  rocAuc,
  rocCurve,
  confusionMatrix,
  accuracyByAngle,
  type Evaluation,
  type AngleBin,
  type ConfusionMatrix,
} from './training/metrics';
export { saliency, gradCam, type Heatmap } from './training/explain';
export {
  train,
  benchmarkTraining,
  resolveParams,
  runEnvironment,
  TrainingConfigError,
  TrainingDivergedError,
  TrainingInterruptedError,
  DEFAULT_ANGLE_NORMALIZATION,
  type TrainConfig,
  type TrainResult,
  type TrainingCallbacks,
  type TrainingContext,
  type BatchInfo,
  type EarlyStoppingConfig,
  type OptimizerName,
  type ModelSignature,
  type ResolvedParams,
} from './training/train';
export {
  inMemoryTrainingData,
  recordsTrainingData,
  splitIndices,
  RECORD_CHANNELS,
  type TrainingData,
  type DataSplit,
  type SampleBatch,
  type PatchRecord,
  type Preprocessing,
  type InMemoryDataOptions,
  type RecordsDataOptions,
} from './training/data';
export { featureStoreTrainingData, type FeatureStoreDataOptions } from './training/feature-store-data';
export { tslabDisplaySink, showBundle, inTslab, type DisplaySink } from './training/display';
export { trainingBundle } from './training/live';
export * from './tracking';
export * from './registry';
// Ingestion (Statoil JSON, synthetic SAR patches, GeoTIFF chips, STAC) and validation rule sets.
export * from './ingest';
export * from './validation';
// Hyperparameter search (random, grid, ASHA, TPE; median early stopping; local and Redis workers) and ablation studies.
export * from './search';
// The iceberg tutorial: its data on demand for the notebooks, and the headless pipeline.
export * from './pipeline';
// Model serving (TensorFlow Serving REST API, batching, hot swap, request log) and drift monitoring.
export * from './serving';
export * from './monitoring';
export * as show from './show';
// Labels placed on SAR rasters (viewer or notebook) → chips committed into a feature group.
export * from './labeling';
