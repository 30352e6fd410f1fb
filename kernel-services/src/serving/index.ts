/**
 * Model serving: registered models behind TensorFlow Serving's REST API, with dynamic batching,
 * hot swap of versions and labels, request logging and Prometheus metrics. See docs/serving.md.
 */
export { serve, ModelServer, type ServeOptions } from './server';
export { ServedModels, type ServedModelsOptions, type VersionPolicy, type VersionSelector } from './repository';
export { Servable } from './servable';
export { DEFAULT_BATCHING, type BatchingOptions } from './batcher';
export { RequestLog, type RequestLogOptions, type RequestLogStats } from './request-log';
export {
  servingSignature,
  DEFAULT_SIGNATURE,
  type ServingSignature,
  type ServingInput,
  type ServingOutput,
} from './signature';
export { decodePredictRequest, encodePredictResponse, type DecodedRequest } from './decode';
export { ServingError } from './errors';
