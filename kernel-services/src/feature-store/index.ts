/**
 * The feature store: feature groups (versioned, schema with scalar and tensor features, numbered
 * atomic commits with statistics and validation reports, time travel), derived features, training
 * datasets (frozen splits with lineage, TFRecord and Parquet exports) and a tfjs data loader.
 */
export { FeatureStore, type FeatureGroupDefinition } from './feature-store';
export {
  FeatureGroup,
  type AsOf,
  type CommitInfo,
  type FeatureGroupInfo,
  type FeatureGroupLineage,
  type InsertOptions,
  type ReadOptions,
  type RejectedRow,
  type RowSource,
} from './feature-group';
export {
  TrainingDataset,
  assignSplits,
  seededRandom,
  type TrainingDatasetDefinition,
  type TrainingDatasetInfo,
  type TrainingDatasetSpec,
} from './training-dataset';
export { exportTrainingDataset, type ExportFormat, type ExportOptions, type ExportResult } from './export';
export { TrainingDataLoader, type LoaderOptions, type LoaderSource, type RawBatch } from './loader';
export {
  TrainingReadCache,
  readCacheHeader,
  READ_CACHE_FORMAT,
  type ReadCacheHeader,
  type ReadCacheOpenOptions,
  type ReadCacheSelection,
  type ReadCacheStatus,
  type ReadCacheVerification,
} from './training-read-cache';
export {
  deriveFeatureGroup,
  DERIVED_FUNCTIONS,
  type DerivedFeatureDefinition,
  type DeriveOptions,
  type ElementwiseFunction,
} from './derived';
export {
  HISTOGRAM_BINS,
  type CommitStatistics,
  type FeatureStatistics,
  type Histogram,
  type NumericSummary,
  type StatisticsSet,
} from './statistics';
export { arrowSchema, rowsToArrow, arrowToRows, conformRows } from './arrow';
export { crc32c, encodeExample, frameRecord, readRecords } from './tfrecord';
export {
  ConcurrentCommitError,
  DuplicatePrimaryKeyError,
  FeatureGroupNotFoundError,
  FeatureRowError,
  FeatureStoreError,
  ValidationRejectedError,
} from './errors';
