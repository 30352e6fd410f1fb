export {
  ExperimentTracker,
  ActiveRun,
  RunNotFoundError,
  type StartRunOptions,
  type EndedRunOptions,
  type RunFilter,
  type RunComparison,
} from './tracker';
export { blobModelHandler, saveModelToBlobs, loadModelFromBlobs, copyModelBlobs } from './model-io';
