/**
 * Notebook displays of searches and ablation studies: MIME bundles with the versioned Floe payload
 * (rendered by the JupyterLab extension) and a self-contained, HTML-escaped `text/html` fallback —
 * trial table, learning curves with early-stopped trials marked, parallel coordinates, ablation bars.
 */
import {
  ABLATION_MIME,
  AblationBundle,
  SEARCH_MIME,
  SearchBundle,
  type AblationRow,
  type ParallelCoordinatesSpec,
  type TrialSummary,
} from '@floe/schema';
import type { ProjectStore } from '../store';
import type { AblationComponent } from '../ablation/study';
import { describeOptimizer } from './config';
import { SearchRepository, type SearchRecord, type TrialRecord } from './repository';
import { SearchSpace } from './space';
import { isBetter } from './types';

export type MimeBundle = Record<string, unknown>;

export function escapeHtml(s: unknown): string {
  return String(s).replace(
    /[&<>"']/g,
    (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!,
  );
}

/** A trial as notebooks and the hub show it. */
export function trialSummary(t: TrialRecord): TrialSummary {
  return {
    number: t.number,
    status: t.status,
    params: t.params,
    budget: t.budget,
    rung: t.rung,
    promotedFrom: t.promotedFrom,
    metric: t.metric,
    bestMetric: t.bestMetric,
    steps: t.steps,
    stopReason: t.stopReason,
    error: t.error,
    attempts: t.attempt,
    durationMs: t.durationMs,
    worker: t.worker,
    curve: t.curve,
    runId: t.runId,
  };
}

/** The best completed or stopped trial with a metric, under the search's direction. */
export function bestOf(search: SearchRecord, trials: TrialRecord[]): TrialRecord | null {
  let best: TrialRecord | null = null;
  for (const t of trials) {
    if ((t.status !== 'completed' && t.status !== 'stopped') || t.metric === null) continue;
    if (!best || isBetter(t.metric, best.metric!, search.config.direction)) best = t;
  }
  return best;
}

export function parallelCoordinates(search: SearchRecord, trials: TrialRecord[]): ParallelCoordinatesSpec {
  const space = SearchSpace.from(search.config.space);
  const axes: ParallelCoordinatesSpec['axes'] = space.names.map((name) => {
    const p = space.spec[name]!;
    if (p.type === 'categorical') return { name, kind: 'categorical', domain: [...p.values] };
    if (p.type === 'discrete') return { name, kind: 'linear', domain: [Math.min(...p.values), Math.max(...p.values)] };
    return { name, kind: p.scale === 'log' ? 'log' : 'linear', domain: [p.min, p.max] };
  });
  const done = trials.filter((t) => t.metric !== null);
  const metrics = done.map((t) => t.metric!);
  axes.push({
    name: search.config.metric,
    kind: 'linear',
    domain: metrics.length ? [Math.min(...metrics), Math.max(...metrics)] : [0, 1],
  });
  return {
    axes,
    lines: done.map((t) => ({
      trial: t.number,
      values: [...space.names.map((n) => t.params[n] ?? ''), t.metric!],
      stopped: t.status === 'stopped',
    })),
  };
}

export async function searchBundle(store: ProjectStore, searchId: number): Promise<MimeBundle> {
  const repo = new SearchRepository(store);
  const search = await repo.getSearch(searchId);
  const trials = await repo.listTrials(searchId);
  const best = bestOf(search, trials);
  const payload = SearchBundle.parse({
    version_major: 1,
    search: {
      id: search.id,
      name: search.name,
      kind: search.kind,
      status: search.status,
      optimizer: describeOptimizer(search.config),
      metric: search.config.metric,
      direction: search.config.direction,
      mode: search.config.mode ?? 'async',
      workers: search.config.workers ?? Math.max(1, new Set(trials.map((t) => t.worker).filter(Boolean)).size),
      numTrials: search.config.numTrials,
      createdAt: search.createdAt,
      finishedAt: search.finishedAt,
      runId: search.runId,
    },
    space: SearchSpace.from(search.config.space).spec,
    trials: trials.map(trialSummary),
    best: best ? { trial: best.number, metric: best.metric!, params: best.params } : null,
    parallelCoordinates: parallelCoordinates(search, trials),
  });
  return {
    [SEARCH_MIME]: payload,
    'text/html': searchHtml(payload),
    'text/plain': `search ${search.id} '${search.name}': ${search.status}, ${trials.length} trials`,
  };
}

const fmt = (v: unknown): string =>
  typeof v === 'number' ? (Number.isInteger(v) ? String(v) : v.toPrecision(4)) : String(v);

export function searchHtml(b: SearchBundle): string {
  const s = b.search;
  const names = Object.keys(b.space);
  const head = `<tr><th>#</th><th>status</th>${names.map((n) => `<th>${escapeHtml(n)}</th>`).join('')}<th>${escapeHtml(s.metric)}</th><th>steps</th><th>why it ended early</th></tr>`;
  const rows = b.trials
    .map(
      (t) =>
        `<tr${b.best?.trial === t.number ? ' style="font-weight:bold"' : ''}><td>${t.number}</td><td>${escapeHtml(t.status)}</td>${names
          .map((n) => `<td>${escapeHtml(fmt(t.params[n] ?? ''))}</td>`)
          .join(
            '',
          )}<td>${t.metric === null ? '' : escapeHtml(fmt(t.metric))}</td><td>${t.steps}</td><td>${escapeHtml(t.stopReason ?? t.error?.split('\n')[0] ?? '')}</td></tr>`,
    )
    .join('');
  const best = b.best
    ? `<p>best: trial ${b.best.trial}, ${escapeHtml(s.metric)} = ${escapeHtml(fmt(b.best.metric))} with ${escapeHtml(JSON.stringify(b.best.params))}</p>`
    : '<p>no finished trial yet</p>';
  return `<div class="floe-search"><h4>${escapeHtml(s.kind)} ${s.id}: ${escapeHtml(s.name)} (${escapeHtml(s.status)}; ${escapeHtml(s.optimizer)}, ${escapeHtml(s.mode)}, ${s.workers} workers)</h4>${best}${curvesSvg(b)}${parallelSvg(b.parallelCoordinates)}<table><thead>${head}</thead><tbody>${rows}</tbody></table></div>`;
}

/** Learning curves; early-stopped trials dashed with a cross where they stopped. */
function curvesSvg(b: SearchBundle): string {
  const curves = b.trials.filter((t) => t.curve.length > 0);
  if (!curves.length) return '';
  const W = 420;
  const H = 200;
  const maxSteps = Math.max(...curves.map((t) => t.curve.length));
  const all = curves.flatMap((t) => t.curve);
  const lo = Math.min(...all);
  const hi = Math.max(...all) === lo ? lo + 1 : Math.max(...all);
  const x = (i: number): number => 30 + (i / Math.max(1, maxSteps - 1)) * (W - 40);
  const y = (v: number): number => H - 20 - ((v - lo) / (hi - lo)) * (H - 30);
  const paths = curves
    .map((t) => {
      const pts = t.curve.map((v, i) => `${x(i).toFixed(1)},${y(v).toFixed(1)}`).join(' ');
      const stopped = t.status === 'stopped';
      const end = t.curve.length - 1;
      const mark = stopped
        ? `<text x="${x(end).toFixed(1)}" y="${y(t.curve[end]!).toFixed(1)}" font-size="10" text-anchor="middle" dominant-baseline="middle">×</text>`
        : '';
      return `<polyline points="${pts}" fill="none" stroke="currentColor" stroke-opacity="${stopped ? 0.35 : 0.8}" ${stopped ? 'stroke-dasharray="3,2"' : ''}><title>trial ${t.number}${stopped ? ` (${escapeHtml(t.stopReason ?? 'stopped')})` : ''}</title></polyline>${mark}`;
    })
    .join('');
  return `<svg width="${W}" height="${H}" role="img" aria-label="learning curves"><text x="30" y="12" font-size="11">${escapeHtml(b.search.metric)} per step (× = stopped early)</text>${paths}<text x="2" y="${y(hi) + 4}" font-size="9">${escapeHtml(fmt(hi))}</text><text x="2" y="${y(lo)}" font-size="9">${escapeHtml(fmt(lo))}</text></svg>`;
}

function parallelSvg(pc: ParallelCoordinatesSpec): string {
  if (!pc.lines.length) return '';
  const W = 80 * pc.axes.length + 40;
  const H = 200;
  const pos = (axis: ParallelCoordinatesSpec['axes'][number], v: unknown): number => {
    let u: number;
    if (axis.kind === 'categorical') u = (axis.domain.indexOf(v as never) + 0.5) / axis.domain.length;
    else {
      const [a, b] = axis.domain as number[];
      const f = axis.kind === 'log' ? Math.log : (z: number) => z;
      u = a === b ? 0.5 : (f(Number(v)) - f(a!)) / (f(b!) - f(a!));
    }
    return H - 20 - u * (H - 40);
  };
  const xs = pc.axes.map((_, i) => 30 + i * 80);
  const axes = pc.axes
    .map(
      (a, i) =>
        `<line x1="${xs[i]}" y1="20" x2="${xs[i]}" y2="${H - 20}" stroke="currentColor" stroke-opacity="0.5"/><text x="${xs[i]}" y="${H - 5}" font-size="10" text-anchor="middle">${escapeHtml(a.name)}</text>`,
    )
    .join('');
  const lines = pc.lines
    .map(
      (l) =>
        `<polyline points="${l.values.map((v, i) => `${xs[i]},${pos(pc.axes[i]!, v).toFixed(1)}`).join(' ')}" fill="none" stroke="currentColor" stroke-opacity="${l.stopped ? 0.2 : 0.6}"><title>trial ${l.trial}</title></polyline>`,
    )
    .join('');
  return `<svg width="${W}" height="${H}" role="img" aria-label="parallel coordinates">${axes}${lines}</svg>`;
}

export async function ablationBundle(store: ProjectStore, searchId: number): Promise<MimeBundle> {
  const repo = new SearchRepository(store);
  const search = await repo.getSearch(searchId);
  if (search.kind !== 'ablation') throw new RangeError(`search ${searchId} is a ${search.kind}, not an ablation study`);
  const trials = await repo.listTrials(searchId);
  const plan = (search.config.extra?.plan ?? []) as AblationComponent[];
  const base = trials.find((t) => t.params.component === 'base');
  const baseMetric = base && base.status === 'completed' ? base.metric : null;
  const rows: AblationRow[] = trials.map((t) => {
    const c = plan.find((p) => p.component === t.params.component) ?? {
      component: String(t.params.component),
      kind: 'base' as const,
      removed: [],
    };
    return {
      trial: t.number,
      component: c.component,
      kind: c.kind,
      removed: c.removed,
      status: t.status,
      metric: t.metric,
      delta: t.metric !== null && baseMetric !== null ? t.metric - baseMetric : null,
      runId: t.runId,
    };
  });
  const payload = AblationBundle.parse({
    version_major: 1,
    study: {
      id: search.id,
      name: search.name,
      status: search.status,
      metric: search.config.metric,
      direction: search.config.direction,
      baseMetric,
    },
    rows,
    chart: {
      kind: 'bar',
      x: 'component',
      y: 'delta',
      bars: rows
        .filter((r) => r.kind !== 'base' && r.delta !== null)
        .map((r) => ({ component: r.component, kind: r.kind, delta: r.delta! })),
    },
  });
  return {
    [ABLATION_MIME]: payload,
    'text/html': ablationHtml(payload),
    'text/plain': `ablation ${search.id} '${search.name}': ${search.status}`,
  };
}

export function ablationHtml(b: AblationBundle): string {
  const rows = b.rows
    .map(
      (r) =>
        `<tr><td>${escapeHtml(r.component)}</td><td>${escapeHtml(r.kind)}</td><td>${escapeHtml(r.removed.join(', '))}</td><td>${escapeHtml(r.status)}</td><td>${r.metric === null ? '' : escapeHtml(fmt(r.metric))}</td><td>${r.delta === null ? '' : escapeHtml((r.delta >= 0 ? '+' : '') + fmt(r.delta))}</td></tr>`,
    )
    .join('');
  const bars = b.chart.bars;
  const span = Math.max(1e-9, ...bars.map((x) => Math.abs(x.delta)));
  const W = 420;
  const mid = W / 2 + 40;
  const svg = bars.length
    ? `<svg width="${W + 80}" height="${bars.length * 22 + 20}" role="img" aria-label="metric change per removed component">${bars
        .map((x, i) => {
          const w = (Math.abs(x.delta) / span) * (W / 2 - 10);
          const left = x.delta < 0 ? mid - w : mid;
          return `<text x="${mid - W / 2}" y="${i * 22 + 28}" font-size="11">${escapeHtml(x.component)}</text><rect x="${left.toFixed(1)}" y="${i * 22 + 16}" width="${w.toFixed(1)}" height="16" fill="currentColor" fill-opacity="${x.delta < 0 ? 0.7 : 0.35}"><title>${escapeHtml(fmt(x.delta))}</title></rect>`;
        })
        .join('')}<line x1="${mid}" y1="10" x2="${mid}" y2="${bars.length * 22 + 18}" stroke="currentColor"/></svg>`
    : '';
  return `<div class="floe-ablation"><h4>ablation ${b.study.id}: ${escapeHtml(b.study.name)} (${escapeHtml(b.study.status)})</h4><p>base ${escapeHtml(b.study.metric)}: ${b.study.baseMetric === null ? 'n/a' : escapeHtml(fmt(b.study.baseMetric))}; bars show the change when a component is removed</p>${svg}<table><thead><tr><th>component</th><th>kind</th><th>removed</th><th>status</th><th>${escapeHtml(b.study.metric)}</th><th>Δ vs base</th></tr></thead><tbody>${rows}</tbody></table></div>`;
}
