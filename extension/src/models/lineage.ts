import type { DeploymentSummary, ModelLineageResponse } from '@floe/schema';

/**
 * The lineage of a model version as a DAG: feature group commit → training dataset → run → model
 * version → the deployments serving it. Built as plain nodes and edges (testable without a DOM),
 * laid out in columns by kind and drawn as SVG whose node labels are text nodes, never markup.
 */

export type LineageKind = 'commit' | 'data' | 'dataset' | 'run' | 'model' | 'deployment';

export interface LineageNode {
  /** Stable within one graph: `commit`, `dataset`, `run`, `model`, `deployment:<name>`. */
  id: string;
  kind: LineageKind;
  /** What the node is (e.g. `feature group commit`). */
  caption: string;
  label: string;
  detail: string;
}

export interface LineageGraph {
  nodes: LineageNode[];
  edges: [from: string, to: string][];
}

const COLUMN: Record<LineageKind, number> = { commit: 0, data: 1, dataset: 1, run: 2, model: 3, deployment: 4 };

export function lineageGraph(lineage: ModelLineageResponse, deployments: readonly DeploymentSummary[]): LineageGraph {
  const nodes: LineageNode[] = [];
  const edges: [string, string][] = [];
  const { model, run, trainingDataset: td, featureGroupCommit: fc } = lineage;
  if (fc) {
    nodes.push({
      id: 'commit',
      kind: 'commit',
      caption: 'feature group commit',
      label: `${fc.featureGroup} v${fc.version} #${fc.commit}`,
      detail: `${fc.rows} rows`,
    });
  }
  if (td) {
    nodes.push({
      id: 'dataset',
      kind: 'dataset',
      caption: 'training dataset',
      label: `${td.name} v${td.version}`,
      detail: Object.entries(td.splitCounts)
        .map(([k, n]) => `${k} ${n}`)
        .join(' · '),
    });
    if (fc) edges.push(['commit', 'dataset']);
  } else {
    nodes.push({
      id: 'dataset',
      kind: 'data',
      caption: 'training data',
      label: model.lineage.dataset?.description ?? 'not from the feature store',
      detail: '',
    });
  }
  edges.push(['dataset', 'run']);
  nodes.push({
    id: 'run',
    kind: 'run',
    caption: `run ${run.id}`,
    label: run.name,
    detail: `${run.experiment} · ${run.status}`,
  });
  edges.push(['run', 'model']);
  nodes.push({
    id: 'model',
    kind: 'model',
    caption: 'model version',
    label: `${model.name} v${model.version}`,
    detail: model.aliases.length ? `@${model.aliases.join(' @')}` : 'no alias',
  });
  for (const d of deployments) {
    if (!d.served.some((s) => s.model === model.name && s.version === model.version)) continue;
    const id = `deployment:${d.name}`;
    nodes.push({ id, kind: 'deployment', caption: 'deployment', label: d.name, detail: d.status });
    edges.push(['model', id]);
  }
  return { nodes, edges };
}

const SVG = 'http://www.w3.org/2000/svg';
const NODE = { width: 150, height: 56, gapX: 30, gapY: 14, pad: 8 };

function svg<K extends keyof SVGElementTagNameMap>(
  tag: K,
  attrs: Record<string, string | number>,
): SVGElementTagNameMap[K] {
  const node = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, String(v));
  return node;
}

/** Text cut to fit a node (the full text is in the node's tooltip and aria-label). */
function fit(text: string, max: number): string {
  const chars = [...text];
  return chars.length > max ? `${chars.slice(0, max - 1).join('')}…` : text;
}

/**
 * Draws the graph; each node is a focusable button (`Enter`/`Space` activate it, arrow keys move
 * along the edges). `onActivate` gets the node the user chose.
 */
export function drawLineage(
  graph: LineageGraph,
  onActivate: (node: LineageNode) => void,
  selected: string | null,
): SVGSVGElement {
  const columns = new Map<number, LineageNode[]>();
  for (const n of graph.nodes) columns.set(COLUMN[n.kind], [...(columns.get(COLUMN[n.kind]) ?? []), n]);
  const used = [...columns.keys()].sort((a, b) => a - b);
  const tallest = Math.max(...[...columns.values()].map((c) => c.length));
  const height = NODE.pad * 2 + tallest * NODE.height + (tallest - 1) * NODE.gapY;
  const width = NODE.pad * 2 + used.length * NODE.width + (used.length - 1) * NODE.gapX;
  const at = new Map<string, { x: number; y: number }>();
  used.forEach((col, i) => {
    const list = columns.get(col)!;
    const top = (height - (list.length * NODE.height + (list.length - 1) * NODE.gapY)) / 2;
    list.forEach((n, j) =>
      at.set(n.id, { x: NODE.pad + i * (NODE.width + NODE.gapX), y: top + j * (NODE.height + NODE.gapY) }),
    );
  });

  const root = svg('svg', { viewBox: `0 0 ${width} ${height}`, width, height, class: 'floe-Lineage-svg' });
  root.setAttribute('role', 'group');
  root.setAttribute('aria-label', 'Lineage: feature group commit to deployments');
  const defs = svg('defs', {});
  const marker = svg('marker', {
    id: 'floe-lineage-arrow',
    viewBox: '0 0 8 8',
    refX: 8,
    refY: 4,
    markerWidth: 8,
    markerHeight: 8,
    orient: 'auto',
  });
  marker.append(svg('path', { d: 'M0,0 L8,4 L0,8 z', class: 'floe-Lineage-arrow' }));
  defs.append(marker);
  root.append(defs);

  for (const [from, to] of graph.edges) {
    const a = at.get(from);
    const b = at.get(to);
    if (!a || !b) continue;
    const x1 = a.x + NODE.width;
    const y1 = a.y + NODE.height / 2;
    const x2 = b.x;
    const y2 = b.y + NODE.height / 2;
    const mid = (x1 + x2) / 2;
    const edge = svg('path', {
      d: `M${x1},${y1} C${mid},${y1} ${mid},${y2} ${x2 - 1},${y2}`,
      class: 'floe-Lineage-edge',
      'marker-end': 'url(#floe-lineage-arrow)',
    });
    edge.dataset.floeEdge = `${from}->${to}`;
    root.append(edge);
  }

  const focusables = new Map<string, SVGGElement>();
  for (const n of graph.nodes) {
    const p = at.get(n.id)!;
    const g = svg('g', {
      transform: `translate(${p.x},${p.y})`,
      class: `floe-Lineage-node floe-Lineage-${n.kind}${n.id === selected ? ' floe-mod-selected' : ''}`,
      tabindex: 0,
      role: 'button',
    });
    g.dataset.floeNode = n.id;
    g.setAttribute('aria-label', `${n.caption}: ${n.label}${n.detail ? ` (${n.detail})` : ''}`);
    const tip = svg('title', {});
    tip.textContent = `${n.caption}: ${n.label}${n.detail ? `\n${n.detail}` : ''}`;
    const caption = svg('text', { x: 10, y: 15, class: 'floe-Lineage-caption' });
    caption.textContent = fit(n.caption, 24);
    const label = svg('text', { x: 10, y: 32, class: 'floe-Lineage-label' });
    label.textContent = fit(n.label, 19);
    const detail = svg('text', { x: 10, y: 47, class: 'floe-Lineage-detail' });
    detail.textContent = fit(n.detail, 24);
    g.append(
      tip,
      svg('rect', { width: NODE.width, height: NODE.height, rx: 6, class: 'floe-Lineage-box' }),
      caption,
      label,
      detail,
    );
    g.addEventListener('click', () => onActivate(n));
    g.addEventListener('keydown', (event) => {
      if (event.key === 'Enter' || event.key === ' ') {
        event.preventDefault();
        onActivate(n);
        return;
      }
      const next =
        event.key === 'ArrowRight'
          ? graph.edges.find(([f]) => f === n.id)?.[1]
          : event.key === 'ArrowLeft'
            ? graph.edges.find(([, t]) => t === n.id)?.[0]
            : undefined;
      if (next) {
        event.preventDefault();
        focusables.get(next)?.focus();
      }
    });
    focusables.set(n.id, g);
    root.append(g);
  }
  return root;
}
