/** The iceberg tutorial: its data on demand (for notebooks) and the headless `floe pipeline`. */
export {
  ensureIcebergData,
  ensureSyntheticFile,
  syntheticFile,
  tutorialSize,
  tutorialNames,
  TUTORIAL_SIZES,
  type IcebergData,
  type EnsureOptions,
  type TutorialSize,
  type TutorialSizeName,
} from './iceberg';
export {
  runPipeline,
  formatPipelineSummary,
  icebergTrialRef,
  tutorialSearchConfig,
  tutorialAblationConfig,
  type PipelineOptions,
  type PipelineSummary,
  type FeatureSummary,
} from './run';
export { serveAndMonitor, patchInstance, servingPatches, type ServingSummary, type DriftCheck } from './serving';
