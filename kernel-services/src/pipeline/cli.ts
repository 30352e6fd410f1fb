/** `floe pipeline [--size quick|full] [--workers N] [--json] [--benchmarks FILE]`: the tutorial headless. */
import * as fs from 'node:fs';
import * as os from 'node:os';
import { formatPipelineSummary, runPipeline, type PipelineSummary } from './run';

export const PIPELINE_USAGE = `usage: floe pipeline [--size quick|full] [--workers N] [--json] [--benchmarks FILE]
  Runs the iceberg tutorial headless on synthetic data in the project store (FLOE_HOME or ./floe-project):
  validation, feature store, LeNet training and registry, serving latency and drift, asynchronous vs
  synchronous search, ablation.
  --size       quick (400 patches, 4 epochs; a few minutes) or full (1,604 patches, 20 epochs; default)
  --workers N  trial worker processes for the search and the ablation (default 2)
  --json       print the summary as one JSON line after the text
  --benchmarks FILE  write the figures into FILE's "pipeline (<size>)" section (default with --size full: docs/benchmarks.md)`;

export class PipelineUsageError extends Error {
  override name = 'PipelineUsageError';
}

/** Replaces (or appends) the `## pipeline (<size>)` section of a markdown file. */
export function writeBenchmarkSection(file: string, s: PipelineSummary, wallSeconds: number): void {
  const heading = `## pipeline (${s.size})`;
  const cpu = os.cpus()[0]?.model ?? 'unknown CPU';
  const section = [
    heading,
    '',
    `\`floe pipeline --size ${s.size} --workers ${s.workers}\` on ${os.cpus().length} vCPU ${cpu}, ${Math.round(os.totalmem() / 2 ** 30)} GiB, Node ${process.version}, ${new Date().toISOString().slice(0, 10)}; ${Math.round(wallSeconds)} s in all.`,
    '',
    '```',
    ...formatPipelineSummary(s),
    '```',
    '',
  ].join('\n');
  const text = fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : '';
  const start = text.indexOf(`${heading}\n`);
  let next: string;
  if (start < 0) next = `${text.trimEnd()}\n\n${section}`;
  else {
    const after = text.indexOf('\n## ', start + heading.length);
    next = text.slice(0, start) + section + (after < 0 ? '' : text.slice(after + 1));
  }
  fs.writeFileSync(file, next);
}

export async function pipelineCommand(
  parsed: { positionals: string[]; options: Record<string, string | true> },
  out: (line: string) => void,
): Promise<number> {
  const o = parsed.options;
  if (o.help) {
    out(PIPELINE_USAGE);
    return 0;
  }
  const size = o.size === undefined ? 'full' : o.size;
  if (size !== 'quick' && size !== 'full')
    throw new PipelineUsageError(`--size must be quick or full, got ${size === true ? 'nothing' : size}`);
  const workers = o.workers === undefined ? 2 : Number(o.workers);
  if (!Number.isInteger(workers) || workers < 1)
    throw new PipelineUsageError(
      `--workers must be a positive integer, got ${o.workers === true ? 'nothing' : o.workers}`,
    );
  if (o.benchmarks === true) throw new PipelineUsageError('--benchmarks needs a file');
  const t0 = performance.now();
  const summary = await runPipeline({ size, workers, log: out });
  const wall = (performance.now() - t0) / 1000;
  out('');
  for (const line of formatPipelineSummary(summary)) out(line);
  out(`total ${wall.toFixed(1)} s`);
  const benchFile =
    typeof o.benchmarks === 'string' ? o.benchmarks : size === 'full' ? await defaultBenchmarks() : undefined;
  if (benchFile) {
    writeBenchmarkSection(benchFile, summary, wall);
    out(`figures written to ${benchFile}`);
  }
  if (o.json === true) {
    const { report: _report, ...validation } = summary.validation;
    out(JSON.stringify({ ...summary, validation, wallSeconds: Math.round(wall * 10) / 10 }));
  }
  return 0;
}

async function defaultBenchmarks(): Promise<string> {
  const path = await import('node:path');
  const { floeRoot } = await import('../env/paths');
  return path.join(floeRoot(), 'docs', 'benchmarks.md');
}
