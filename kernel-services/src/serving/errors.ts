/**
 * A request the server refuses, with the HTTP status TF Serving gives for the same gRPC code
 * (INVALID_ARGUMENT → 400, NOT_FOUND → 404, ...). The body is always `{"error": message}`.
 */
export class ServingError extends Error {
  override name = 'ServingError';
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

export const invalidArgument = (message: string): ServingError => new ServingError(400, message);
export const notFound = (message: string): ServingError => new ServingError(404, message);
