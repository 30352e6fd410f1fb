import { z } from 'zod';

/** Which TensorFlow.js backend is live. `tensorflow` is the native binding; anything else is a fallback. */
export const TensorflowInfo = z.object({
  /** tfjs backend name, e.g. `tensorflow` (native) or `cpu` (pure JS). */
  backend: z.string(),
  /** true when the backend is the native TensorFlow binding. */
  native: z.boolean(),
  /** Version of the TensorFlow C library the binding is linked against, e.g. `2.20.0`. */
  version: z.string().nullable(),
  /** Version of the tfjs packages. */
  tfjsVersion: z.string(),
  /** `cpu` or `gpu`: which tfjs-node build is installed. */
  variant: z.enum(['cpu', 'gpu']),
  /** Devices TensorFlow computes on, e.g. `CPU` or `GPU:0`. */
  device: z.string(),
});
export type TensorflowInfo = z.infer<typeof TensorflowInfo>;

/** `GET /v1/info`: what this Floe installation is and where its project lives. */
export const InfoResponse = z.object({
  floeVersion: z.string(),
  apiVersion: z.number().int(),
  node: z.string(),
  platform: z.string(),
  tensorflow: TensorflowInfo,
  store: z.object({
    /** Absolute path (or URL) of the project store. */
    path: z.string(),
    metadata: z.string(),
    blobs: z.string(),
  }),
  startedAt: z.string(),
});
export type InfoResponse = z.infer<typeof InfoResponse>;

/** Every error body from the hub and the model server. */
export const ErrorResponse = z.object({ error: z.string() });
export type ErrorResponse = z.infer<typeof ErrorResponse>;
