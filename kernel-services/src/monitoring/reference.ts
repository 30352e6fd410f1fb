import type { HistogramCounts, ModelVersion } from '@floe/schema';
import type { CommitStatistics, NumericSummary } from '../feature-store/statistics';
import type { ProjectStore } from '../store';
import { readJson } from '../store/portable';

/**
 * The drift reference of a model version: the statistics of the feature group commit its training
 * dataset is frozen to (per band mean/std/histogram, the incidence angle's distribution and missing
 * rate, the label rate), found through the registry's lineage. A model trained on data outside the
 * feature store has only its channel mean/std (the standardisation it trained with).
 */

export interface ReferenceBand {
  band: string;
  mean: number | null;
  std: number | null;
  histogram: HistogramCounts | null;
}

export interface ReferenceAngle {
  feature: string;
  mean: number | null;
  std: number | null;
  /** Rows whose angle is null (or not finite) ÷ rows. */
  missingRate: number | null;
  histogram: HistogramCounts | null;
}

export interface ReferenceStatistics {
  source: 'feature-store' | 'preprocessing';
  trainingDataset: string | null;
  featureGroup: string | null;
  commit: number | null;
  rows: number | null;
  /** In the model's channel order. */
  bands: ReferenceBand[];
  angle: ReferenceAngle | null;
  /** Mean of the label (fraction of icebergs) at that commit. */
  labelRate: number | null;
}

function histogramOf(s: NumericSummary | undefined): HistogramCounts | null {
  const h = s?.histogram;
  return h ? { lo: h.lo, hi: h.hi, counts: [...h.counts], below: h.below, above: h.above } : null;
}

export async function loadReferenceStatistics(
  store: ProjectStore,
  version: Pick<ModelVersion, 'lineage' | 'signature'>,
  channels: readonly string[],
  angleFeature: string | null,
): Promise<ReferenceStatistics | null> {
  const ds = version.lineage.dataset;
  if (ds?.trainingDatasetId != null) {
    const row = await store.db
      .selectFrom('training_dataset')
      .innerJoin('feature_group', 'feature_group.id', 'training_dataset.feature_group_id')
      .innerJoin('feature_group_commit', (j) =>
        j
          .onRef('feature_group_commit.feature_group_id', '=', 'training_dataset.feature_group_id')
          .onRef('feature_group_commit.number', '=', 'training_dataset.commit_number'),
      )
      .select([
        'training_dataset.name as td_name',
        'training_dataset.version as td_version',
        'training_dataset.spec as spec',
        'feature_group.name as fg_name',
        'feature_group.version as fg_version',
        'feature_group_commit.number as commit',
        'feature_group_commit.statistics as statistics',
      ])
      .where('training_dataset.id', '=', ds.trainingDatasetId)
      .executeTakeFirst();
    if (row) {
      const stats = readJson<CommitStatistics>(row.statistics).group;
      const label = readJson<{ label: string | null }>(row.spec).label;
      const bands = channels.map((band) => {
        const b = stats.features[band]?.bands;
        const s = b && b.length === 1 ? b[0] : undefined;
        return { band, mean: s?.mean ?? null, std: s?.std ?? null, histogram: histogramOf(s) };
      });
      let angle: ReferenceAngle | null = null;
      const a = angleFeature ? stats.features[angleFeature] : undefined;
      if (angleFeature && a) {
        const missing = a.missing + (a.numeric?.nonFinite ?? 0);
        angle = {
          feature: angleFeature,
          mean: a.numeric?.mean ?? null,
          std: a.numeric?.std ?? null,
          missingRate: a.rows > 0 ? missing / a.rows : null,
          histogram: histogramOf(a.numeric),
        };
      }
      const labelStats = label ? stats.features[label]?.numeric : undefined;
      return {
        source: 'feature-store',
        trainingDataset: `${row.td_name}:${row.td_version}`,
        featureGroup: `${row.fg_name}:${row.fg_version}`,
        commit: Number(row.commit),
        rows: stats.rows,
        bands,
        angle,
        labelRate: labelStats?.mean ?? null,
      };
    }
  }
  const pre = (version.signature as { preprocessing?: { channelMean?: number[]; channelStd?: number[] } | null })
    .preprocessing;
  if (pre?.channelMean && pre.channelStd && pre.channelMean.length === channels.length) {
    return {
      source: 'preprocessing',
      trainingDataset: null,
      featureGroup: null,
      commit: null,
      rows: null,
      bands: channels.map((band, i) => ({
        band,
        mean: pre.channelMean![i]!,
        std: pre.channelStd![i]!,
        histogram: null,
      })),
      angle: null,
      labelRate: null,
    };
  }
  return null;
}
