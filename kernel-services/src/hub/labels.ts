import type * as http from 'node:http';
import { CommitLabelsResponse, LabelOverlayQuery, LabelOverlayResponse } from '@floe/schema';
import { FeatureRowError } from '../feature-store/arrow';
import {
  ConcurrentCommitError,
  DuplicatePrimaryKeyError,
  FeatureStoreError,
  ValidationRejectedError,
} from '../feature-store/errors';
import { FeatureStore } from '../feature-store/feature-store';
import { RasterError } from '../ingest/geotiff';
import { commitLabels, LabelCommitError } from '../labeling/commit';
import { committedLabelOverlays } from '../labeling/overlay';
import type { ProjectStore } from '../store';
import { HttpError } from './server';

/**
 * `POST /v1/labels/commit`: labels placed in the SAR viewer become a feature group commit of 75×75
 * chips. The route reads and size-limits the body; the library (`labeling/commit.ts`) validates it
 * with the contract schema, keeps raster paths inside the allowed roots, cuts and inserts the chips.
 */

/** 1,000 labels of ~100 bytes each fit well within this. */
const MAX_BODY_BYTES = 1 << 20;

async function readJsonBody(req: http.IncomingMessage): Promise<unknown> {
  const type = req.headers['content-type'] ?? '';
  if (!/^application\/json\b/i.test(type))
    throw new HttpError(415, `labels/commit takes application/json, got '${type || 'no content type'}'`);
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BODY_BYTES) throw new HttpError(413, `labels/commit body is larger than ${MAX_BODY_BYTES} bytes`);
    chunks.push(chunk);
  }
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8'));
  } catch (err) {
    throw new HttpError(400, `labels/commit body is not JSON: ${(err as Error).message}`);
  }
}

/** The library's errors as HTTP statuses; anything else stays a 500. */
function statusOf(err: unknown): number | null {
  if (err instanceof LabelCommitError) return { forbidden: 403, missing: 404, invalid: 400 }[err.reason];
  if (err instanceof DuplicatePrimaryKeyError || err instanceof ConcurrentCommitError) return 409;
  if (err instanceof ValidationRejectedError || err instanceof RasterError) return 422;
  if (err instanceof FeatureRowError || err instanceof FeatureStoreError) return 400;
  return null;
}

export async function commitLabelsRoute(
  req: http.IncomingMessage,
  store: () => Promise<ProjectStore>,
): Promise<CommitLabelsResponse> {
  const body = await readJsonBody(req);
  const features = new FeatureStore(await store());
  try {
    const result = await commitLabels(features, body);
    const checked = CommitLabelsResponse.safeParse(result);
    if (!checked.success) throw new Error(`the hub built a labels/commit answer outside its contract`);
    return checked.data;
  } catch (err) {
    const status = statusOf(err);
    if (status !== null) throw new HttpError(status, (err as Error).message);
    throw err;
  } finally {
    await features.close();
  }
}

/** `GET /v1/labels/overlay?raster=PATH`: labels already committed for that raster, for the viewer to draw. */
export async function labelOverlayRoute(url: URL, store: () => Promise<ProjectStore>): Promise<LabelOverlayResponse> {
  const query = LabelOverlayQuery.safeParse(Object.fromEntries(url.searchParams));
  if (!query.success) throw new HttpError(400, `bad query on ${url.pathname}: raster (a path) is required`);
  const features = new FeatureStore(await store());
  try {
    return LabelOverlayResponse.parse({ overlays: await committedLabelOverlays(features, query.data.raster) });
  } finally {
    await features.close();
  }
}
