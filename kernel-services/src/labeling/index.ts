/** Labels placed on SAR rasters → 75×75 chips committed into a feature group. */
export {
  commitLabels,
  crossPolPartner,
  defaultRasterRoots,
  LABEL_CHIP_SCHEMA,
  LabelCommitError,
  MIN_VALID_FRACTION,
  resolveRasterPath,
  type CommitLabelsOptions,
} from './commit';
export { committedLabelOverlays } from './overlay';
