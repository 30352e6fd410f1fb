export {
  ModelRegistry,
  ModelNotFoundError,
  loadModel,
  parseModelRef,
  formatModelRef,
  type ModelRef,
  type RegisterOptions,
  type ModelLineageChain,
} from './registry';
export {
  explain,
  explanationBundle,
  patchFromRecord,
  type Explanation,
  type ExplanationMethod,
  type ExplainOptions,
} from './explanations';
