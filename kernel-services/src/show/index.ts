/** `floe.show`: static looks at data for notebook output. */
export { sar, sarPatchBundle, asPatch, SAR_MIME, SAR_PAYLOAD_VERSION } from './sar';
export type { SarBand, SarPatch, StatoilRecord, ShowSarOptions, SarPayload } from './sar';
export { sarScene, sarSceneBundle, SAR_SCENE_MIME, SAR_SCENE_PAYLOAD_VERSION } from './sar-scene';
export type { ShowSarSceneOptions, SarScenePayload } from './sar-scene';
