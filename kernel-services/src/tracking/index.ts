export {
  ExperimentTracker,
  ActiveRun,
  RunNotFoundError,
  type StartRunOptions,
  type RunFilter,
  type RunComparison,
} from './tracker';
export { blobModelHandler, saveModelToBlobs, loadModelFromBlobs, copyModelBlobs } from './model-io';
