/** Errors of the feature store; each names the group, record or field that was wrong. */
export { FeatureRowError } from './arrow';

export class FeatureStoreError extends Error {
  override name = 'FeatureStoreError';
}

export class FeatureGroupNotFoundError extends FeatureStoreError {
  override name = 'FeatureGroupNotFoundError';
}

export class DuplicatePrimaryKeyError extends FeatureStoreError {
  override name = 'DuplicatePrimaryKeyError';
  constructor(
    message: string,
    readonly record: number,
    readonly key: string,
  ) {
    super(message);
  }
}

/** A strict rule set failed: the commit was not written. `report` is the validation report. */
export class ValidationRejectedError extends FeatureStoreError {
  override name = 'ValidationRejectedError';
  constructor(
    message: string,
    readonly report: unknown,
  ) {
    super(message);
  }
}

/** Another writer committed to the same feature group meanwhile; nothing of this insert is visible. */
export class ConcurrentCommitError extends FeatureStoreError {
  override name = 'ConcurrentCommitError';
}
