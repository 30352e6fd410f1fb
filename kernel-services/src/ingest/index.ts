/** Ingestion: Statoil/C-CORE JSON (read and generate), GeoTIFF/COG chips, STAC catalogs and APIs. */
export {
  readStatoil,
  readStatoilAll,
  StatoilFormatError,
  StatoilRecordStream,
  type StatoilRecord,
  type StatoilReadOptions,
  type StatoilProgress,
  type StatoilSource,
  type StatoilUnknownFieldWarning,
} from './statoil';
export {
  SyntheticSarGenerator,
  generateSynthetic,
  writeSynthetic,
  writeStatoil,
  encodeStatoilRecord,
  SYNTHETIC_DEFAULTS,
  SAR_MODEL,
  Xoshiro128,
  type SyntheticOptions,
  type SyntheticTruth,
} from './synthetic';
export { ICEBERG_SCHEMA, ICEBERG_PATCH_SIZE, recordToRow, rowToRecord, rowBatches } from './iceberg-schema';
export {
  RasterFile,
  RasterError,
  amplitudeToDb,
  intensityToDb,
  type RasterInfo,
  type BandInfo,
  type OverviewInfo,
  type Georeferencing,
  type Chip,
  type ChipCenter,
  type ChipOptions,
} from './geotiff';
export { fitGcpTransform, type GroundControlPoint, type GcpTransform } from './gcp';
export { projectionFor, type Projection } from './projection';
export {
  readStaticCatalog,
  StacApiClient,
  StacError,
  selectAssets,
  matchesFilter,
  type StacItem,
  type StacAsset,
  type StacLink,
  type StacCollection,
  type ResolvedItem,
  type ResolvedAsset,
  type SearchFilter,
  type StaticCatalogOptions,
  type ApiPagingOptions,
} from './stac';
