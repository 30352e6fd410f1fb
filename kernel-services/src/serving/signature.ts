import type { ModelMetadataResponse, ModelVersion, SignatureDef, TensorInfo } from '@floe/schema';
import type { LayersModel } from '@tensorflow/tfjs-node';

/**
 * What a served model takes and gives, as TF Serving's `serving_default` signature would describe a
 * SavedModel exported with its preprocessing: the image in the units the training data had (dB,
 * channels in training order) and the incidence angle in degrees. The channel standardisation and
 * angle normalisation that training applied are part of the served function, so clients send what
 * they have (e.g. Statoil bands) and monitoring sees the same units as the training statistics.
 */

export const DEFAULT_SIGNATURE = 'serving_default';
export const PREDICT_METHOD = 'tensorflow/serving/predict';

export interface ServingInput {
  name: string;
  /** Shape of one instance (the batch dimension excluded); [] for a scalar. */
  shape: number[];
  /** `image`: channels-last patch; `angle`: incidence angle in degrees, may be missing (null / "na" / NaN). */
  role: 'image' | 'angle';
}

export interface ServingOutput {
  name: string;
  /** Shape of one instance's output. */
  shape: number[];
}

export interface ServingSignature {
  inputs: ServingInput[];
  outputs: ServingOutput[];
  /** Image channel names in order (feature names of the training data, e.g. band_1, band_2). */
  channels: string[];
  angleFeature: string | null;
  /** Channel standardisation applied before the network (training statistics), or none. */
  preprocessing: { channelMean: number[]; channelStd: number[] } | null;
  /** Angle standardisation applied before the network; missing angles become the mean. */
  angleNormalization: { mean: number; std: number } | null;
}

/** Values a instance of `shape` holds. */
export function sizeOf(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

interface StoredSignature {
  channels?: unknown;
  angleFeature?: unknown;
  inputShape?: unknown;
  angleNormalization?: unknown;
  preprocessing?: unknown;
}

function numbers(v: unknown): number[] | null {
  return Array.isArray(v) && v.every((x) => typeof x === 'number' && Number.isFinite(x)) ? (v as number[]) : null;
}

/**
 * The serving signature of a registered version: shapes from the loaded network, names and
 * preprocessing from the signature the registry stored at training time.
 */
export function servingSignature(
  model: LayersModel,
  version: Pick<ModelVersion, 'name' | 'version' | 'signature'>,
): ServingSignature {
  const stored = version.signature as StoredSignature;
  const label = `model ${version.name} version ${version.version}`;
  if (model.inputs.length < 1 || model.inputs.length > 2) {
    throw new RangeError(
      `${label}: ${model.inputs.length} inputs; Floe serves image models with an optional incidence-angle input`,
    );
  }
  const imageShape = model.inputs[0]!.shape.slice(1);
  if (imageShape.length !== 3 || imageShape.some((d) => d === null || d < 1)) {
    throw new RangeError(
      `${label}: the image input has shape [${model.inputs[0]!.shape.join(', ')}], expected [batch, height, width, channels]`,
    );
  }
  const shape = imageShape as number[];
  const channelCount = shape[2]!;
  let channels =
    Array.isArray(stored.channels) && stored.channels.every((c) => typeof c === 'string')
      ? (stored.channels as string[])
      : [];
  if (channels.length !== channelCount) channels = Array.from({ length: channelCount }, (_, i) => `channel_${i}`);
  const inputs: ServingInput[] = [{ name: 'image', shape, role: 'image' }];
  let angleFeature: string | null = null;
  let angleNormalization: ServingSignature['angleNormalization'] = null;
  if (model.inputs.length === 2) {
    const angleShape = model.inputs[1]!.shape.slice(1);
    if (sizeOf(angleShape as number[]) !== 1) {
      throw new RangeError(
        `${label}: the second input has shape [${model.inputs[1]!.shape.join(', ')}], expected one incidence angle per instance`,
      );
    }
    angleFeature = typeof stored.angleFeature === 'string' ? stored.angleFeature : 'inc_angle';
    const norm = stored.angleNormalization as { mean?: unknown; std?: unknown } | null | undefined;
    angleNormalization =
      norm && typeof norm.mean === 'number' && typeof norm.std === 'number' && norm.std > 0
        ? { mean: norm.mean, std: norm.std }
        : { mean: 0, std: 1 };
    inputs.push({ name: angleFeature, shape: [], role: 'angle' });
  }
  const pre = stored.preprocessing as { channelMean?: unknown; channelStd?: unknown } | null | undefined;
  const mean = numbers(pre?.channelMean);
  const std = numbers(pre?.channelStd);
  const preprocessing =
    mean && std && mean.length === channelCount && std.length === channelCount
      ? { channelMean: mean, channelStd: std.map((s) => (s > 0 ? s : 1)) }
      : null;
  const outputs: ServingOutput[] = model.outputs.map((o, i) => ({
    // A Sequential model has no outputNames until compiled; its output tensor is '<layer>/<layer>'.
    name: model.outputNames[i] || o.name.split('/')[0] || `output_${i}`,
    shape: o.shape.slice(1).map((d) => d ?? -1),
  }));
  return { inputs, outputs, channels, angleFeature, preprocessing, angleNormalization };
}

function tensorInfo(name: string, shape: number[]): TensorInfo {
  return {
    dtype: 'DT_FLOAT',
    tensor_shape: { dim: [-1, ...shape].map((d) => ({ size: String(d), name: '' })), unknown_rank: false },
    name: `${DEFAULT_SIGNATURE}_${name}:0`,
  };
}

export function signatureDef(sig: ServingSignature): SignatureDef {
  return {
    inputs: Object.fromEntries(sig.inputs.map((i) => [i.name, tensorInfo(i.name, i.shape)])),
    outputs: Object.fromEntries(sig.outputs.map((o) => [o.name, tensorInfo(o.name, o.shape)])),
    method_name: PREDICT_METHOD,
  };
}

/** TF Serving's GetModelMetadataResponse for one version, plus Floe's units and lineage. */
export function metadataResponse(
  name: string,
  version: number,
  sig: ServingSignature,
  extra: { aliases: string[]; trainingDataset: string | null },
): ModelMetadataResponse {
  return {
    model_spec: { name, signature_name: '', version: String(version) },
    metadata: {
      signature_def: { signature_def: { [DEFAULT_SIGNATURE]: signatureDef(sig) } },
      floe: {
        channels: sig.channels,
        channelUnit: 'as in the training data (dB for Sentinel-1 backscatter)',
        angleFeature: sig.angleFeature,
        aliases: extra.aliases,
        trainingDataset: extra.trainingDataset,
      },
    },
  };
}
