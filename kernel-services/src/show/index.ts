/** `floe.show`: static looks at data for notebook output. */
export { sar, sarPatchBundle, asPatch, SAR_MIME, SAR_PAYLOAD_VERSION } from './sar';
export type { SarBand, SarPatch, StatoilRecord, ShowSarOptions, SarPayload } from './sar';
