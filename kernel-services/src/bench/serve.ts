import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { createInterface } from 'node:readline';
import { generateSynthetic } from '../ingest/synthetic';
import { patchInstance } from '../pipeline/serving';
import { ModelRegistry } from '../registry/registry';
import { childEntry } from '../search/ts-require';
import { defaultServeExecution } from '../serving/cli';
import { describeExecution } from '../serving/server';
import { openProjectStore } from '../store';
import type { TfExecution } from '../training/backend';
import { recordsTrainingData } from '../training/data';
import { DEFAULT_LENET } from '../training/models';
import { train } from '../training/train';
import type { BenchLine } from './contract';
import { BENCH_GOALS } from './contract';
import type { BenchRunner } from './index';
import { interleavedBands, type InProcessResult, type ReferenceConfig } from './serve-reference';

/**
 * `floe bench serve`: the LeNet-style model (75×75×2, registered in a throw-away project) served by
 * `floe serve` in a child process, as `floe serve` runs by default (models on a predict thread,
 * its TensorFlow settings), loaded by a closed-loop generator on loopback at several concurrencies
 * (each client sends one single-instance TF Serving request, waits for the answer, sends the next),
 * with dynamic batching on and off, and once with the models on the server's event loop.
 *
 * The reference is the same version's in-process batched `predict` (the server's own execution
 * path: standardisation, network, read-back) at batch sizes 1, 8, 32, 128, measured in the same
 * run in fresh processes under three TensorFlow settings: floe serve's, TensorFlow's defaults, and
 * every core with oneDNN. ratio = served instances/s (batching on, concurrency 32, JSON instances)
 * ÷ the best in-process instances/s at batch 32 over those settings and over two measurements
 * (before serving and right after the batching levels), so neither a setting the server does not
 * use nor a slow moment flatters it. `ratio_same_setting` divides by floe serve's own setting only.
 * Request bodies are built before timing; the request log is on, as by default. The load generator
 * is this process, the server another: each level reports both processes' CPU per request and the
 * load average, since they share the machine's cores.
 */

export interface ServeBenchOptions {
  concurrencies: number[];
  /** Requests per concurrency level (at least 4 per client). */
  requests: number;
  /** Longest a level runs before it stops by itself, seconds. */
  seconds: number;
  /** In-process timing per batch size, seconds. */
  predictSeconds: number;
  maxBatchSize: number;
  maxWaitUs: number;
  /** Skip the batching-off pass. */
  skipUnbatched: boolean;
  /** Write the server process's V8 CPU profiles (node --cpu-prof) into this folder. */
  serverCpuProf: string | null;
}

export function parseServeBenchArgs(args: string[]): ServeBenchOptions {
  const o: ServeBenchOptions = {
    concurrencies: [1, 8, 32, 128],
    requests: 600,
    seconds: 30,
    predictSeconds: 3,
    maxBatchSize: 32,
    maxWaitUs: 0,
    skipUnbatched: false,
    serverCpuProf: null,
  };
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (!arg.startsWith('--')) throw new RangeError(`bench serve: unexpected argument '${arg}'`);
    const eq = arg.indexOf('=');
    const key = arg.slice(2, eq > 0 ? eq : undefined);
    if (key === 'skip-unbatched') {
      o.skipUnbatched = true;
      continue;
    }
    const value = eq > 0 ? arg.slice(eq + 1) : args[++i];
    if (value === undefined) throw new RangeError(`bench serve: --${key} needs a value`);
    const num = (min: number): number => {
      const n = Number(value);
      if (!Number.isFinite(n) || n < min)
        throw new RangeError(`bench serve: --${key} must be a number >= ${min}, got '${value}'`);
      return n;
    };
    if (key === 'concurrency') {
      o.concurrencies = value.split(',').map((v) => Number(v));
      if (o.concurrencies.some((c) => !Number.isInteger(c) || c < 1))
        throw new RangeError(`bench serve: --concurrency takes positive integers like 1,8,32,128, got '${value}'`);
    } else if (key === 'requests') o.requests = Math.round(num(1));
    else if (key === 'seconds') o.seconds = num(0.1);
    else if (key === 'predict-seconds') o.predictSeconds = num(0.1);
    else if (key === 'max-batch-size') o.maxBatchSize = Math.round(num(1));
    else if (key === 'max-wait-us') o.maxWaitUs = Math.round(num(0));
    else if (key === 'server-cpu-prof') o.serverCpuProf = path.resolve(value);
    else throw new RangeError(`bench serve: unknown option --${key}`);
  }
  return o;
}

interface LevelResult {
  concurrency: number;
  requests: number;
  failed: number;
  seconds: number;
  throughput: number;
  p50_ms: number;
  p95_ms: number;
  p99_ms: number;
  /** The server process's CPU time (all threads) per answered request, from its /metrics. */
  server_cpu_ms_per_request: number;
  /** The load generator's (this process's) CPU time per request: it shares the machine's cores with the server. */
  client_cpu_ms_per_request: number;
  /** Instances per executed batch in this level. */
  mean_batch: number;
  /** Mean time in the server from body received to response written, ms (its request histogram). */
  server_ms_per_request: number;
  /** Mean model execution time per batch, ms (its batch histogram). */
  model_ms_per_batch: number;
  /** 1-minute load average at the end of the level. */
  loadavg: number;
}

interface ServerCounters {
  cpuSeconds: number;
  batches: number;
  batchedInstances: number;
  batchSeconds: number;
  requests: number;
  requestSeconds: number;
}

/** The counters of the server's /metrics the bench reads around each level. */
async function serverCounters(base: string): Promise<ServerCounters> {
  const text = await new Promise<string>((resolve, reject) => {
    http
      .get(`${base}/metrics`, (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (body += c));
        res.on('end', () => resolve(body));
      })
      .on('error', reject);
  });
  const value = (pattern: RegExp): number => {
    let total = 0;
    for (const m of text.matchAll(pattern)) total += Number(m[1]);
    return total;
  };
  return {
    cpuSeconds: value(/^process_cpu_seconds_total (\S+)$/gm),
    batches: value(/^floe_serving_batch_size_count\{[^}]*\} (\S+)$/gm),
    batchedInstances: value(/^floe_serving_batch_size_sum\{[^}]*\} (\S+)$/gm),
    batchSeconds: value(/^floe_serving_batch_duration_seconds_sum\{[^}]*\} (\S+)$/gm),
    requests: value(/^floe_serving_request_duration_seconds_count\{[^}]*\} (\S+)$/gm),
    requestSeconds: value(/^floe_serving_request_duration_seconds_sum\{[^}]*\} (\S+)$/gm),
  };
}

/**
 * One keep-alive HTTP/1.1 connection that sends prepared requests and reads each response's status
 * and length-delimited body, and nothing more: the load generator shares the cores with the
 * server, so it spends as little CPU per request as it can (node:http's client cost about 0.7 ms
 * per 227 KiB request here, this a fraction of that).
 */
class LoopbackClient {
  private buffered: Buffer[] = [];
  private size = 0;
  private waiting: { resolve(status: number): void; reject(err: Error): void } | null = null;

  private constructor(private readonly socket: net.Socket) {
    socket.on('data', (chunk: Buffer) => {
      this.buffered.push(chunk);
      this.size += chunk.length;
      this.parse();
    });
    const fail = (err: Error): void => {
      const w = this.waiting;
      this.waiting = null;
      w?.reject(err);
    };
    socket.on('error', fail);
    socket.on('close', () => fail(new Error('bench serve: the server closed the connection')));
  }

  static connect(host: string, port: number): Promise<LoopbackClient> {
    return new Promise((resolve, reject) => {
      const socket = net.connect({ host, port, noDelay: true }, () => {
        socket.off('error', reject);
        resolve(new LoopbackClient(socket));
      });
      socket.once('error', reject);
    });
  }

  /** Writes one request; resolves to the response's status code once its whole body is in. */
  send(request: Buffer): Promise<number> {
    return new Promise((resolve, reject) => {
      this.waiting = { resolve, reject };
      this.socket.write(request);
    });
  }

  private parse(): void {
    if (!this.waiting) return;
    const data = this.buffered.length === 1 ? this.buffered[0]! : Buffer.concat(this.buffered, this.size);
    this.buffered = [data];
    const headEnd = data.indexOf('\r\n\r\n');
    if (headEnd < 0) return;
    const head = data.toString('latin1', 0, headEnd);
    const length = /\r\ncontent-length: *(\d+)/i.exec(head);
    if (!length) {
      this.waiting.reject(new Error(`bench serve: a response without content-length: ${head}`));
      this.waiting = null;
      return;
    }
    const end = headEnd + 4 + Number(length[1]);
    if (data.length < end) return;
    const rest = data.subarray(end);
    this.buffered = rest.length > 0 ? [rest] : [];
    this.size = rest.length;
    const w = this.waiting;
    this.waiting = null;
    w.resolve(Number(head.slice(9, 12)));
  }

  close(): void {
    this.socket.destroy();
  }
}

const round = (x: number, d = 2): number => Number(x.toFixed(d));

function quantile(sorted: number[], q: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))]!;
}

async function startServer(
  home: string,
  model: string,
  batching: { enabled: boolean; maxBatchSize: number; maxWaitUs: number },
  predictThread: boolean,
  execution: TfExecution,
  log: (l: string) => void,
  cpuProfDir: string | null,
): Promise<{ url: string; child: ChildProcess }> {
  const { file, execArgv } = childEntry(path.join(__dirname, '..', 'serving'), 'bench-server', __filename);
  const prof = cpuProfDir ? ['--cpu-prof', `--cpu-prof-dir=${cpuProfDir}`] : [];
  const child = spawn(
    process.execPath,
    [...execArgv, ...prof, file, JSON.stringify({ home, models: [model], batching, predictThread, execution })],
    {
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  child.stderr!.on('data', (d: Buffer) => log(`  [server] ${d.toString().trimEnd()}`));
  const url = await new Promise<string>((resolve, reject) => {
    const lines = createInterface({ input: child.stdout! });
    lines.once('line', (line) => {
      try {
        resolve((JSON.parse(line) as { url: string }).url);
      } catch {
        reject(new Error(`bench serve: the server printed '${line}'`));
      }
    });
    child.once('exit', (code) => reject(new Error(`bench serve: the server exited with ${code} before listening`)));
  });
  return { url, child };
}

async function stopServer(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  await Promise.race([exited, new Promise((r) => setTimeout(r, 15_000))]);
  if (child.exitCode === null) child.kill('SIGKILL');
}

/** Closed loop: `concurrency` clients, `total` requests in all or until `seconds` pass. */
async function loadLevel(
  base: string,
  url: string,
  bodies: Buffer[],
  concurrency: number,
  total: number,
  seconds: number,
): Promise<LevelResult> {
  const target = new URL(url);
  // Whole HTTP/1.1 requests (head and body) built before timing: one socket write per request.
  const requests = bodies.map((body) =>
    Buffer.concat([
      Buffer.from(
        `POST ${target.pathname} HTTP/1.1\r\nHost: ${target.host}\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n`,
        'latin1',
      ),
      body,
    ]),
  );
  const clients = await Promise.all(
    Array.from({ length: concurrency }, () => LoopbackClient.connect(target.hostname, Number(target.port))),
  );
  const latencies: number[] = [];
  let failed = 0;
  let next = 0;
  const deadline = performance.now() + seconds * 1000;
  const before = await serverCounters(base);
  const clientCpu = process.cpuUsage();
  const started = performance.now();
  await Promise.all(
    clients.map(async (client) => {
      while (next < total && performance.now() < deadline) {
        const i = next++;
        const t = performance.now();
        const status = await client.send(requests[i % requests.length]!).catch(() => 0);
        latencies.push(performance.now() - t);
        if (status !== 200) failed++;
      }
    }),
  );
  const wall = (performance.now() - started) / 1000;
  const clientUsed = process.cpuUsage(clientCpu);
  for (const c of clients) c.close();
  const after = await serverCounters(base);
  latencies.sort((a, b) => a - b);
  const ok = latencies.length - failed;
  return {
    concurrency,
    requests: latencies.length,
    failed,
    seconds: round(wall, 3),
    throughput: round(ok / wall),
    p50_ms: round(quantile(latencies, 0.5)),
    p95_ms: round(quantile(latencies, 0.95)),
    p99_ms: round(quantile(latencies, 0.99)),
    server_cpu_ms_per_request: round(
      ((after.cpuSeconds - before.cpuSeconds) * 1000) / Math.max(1, latencies.length),
      3,
    ),
    client_cpu_ms_per_request: round((clientUsed.user + clientUsed.system) / 1000 / Math.max(1, latencies.length), 3),
    mean_batch: round(
      (after.batchedInstances - before.batchedInstances) / Math.max(1, after.batches - before.batches),
      2,
    ),
    server_ms_per_request: round(
      ((after.requestSeconds - before.requestSeconds) * 1000) / Math.max(1, after.requests - before.requests),
      3,
    ),
    model_ms_per_batch: round(
      ((after.batchSeconds - before.batchSeconds) * 1000) / Math.max(1, after.batches - before.batches),
      3,
    ),
    loadavg: round(os.loadavg()[0]!, 1),
  };
}

/** One TensorFlow setting's in-process figures (`serve-reference.ts` in a child process). */
interface ReferenceRun {
  setting: string;
  execution: TfExecution;
  results: InProcessResult[];
}

/** Times the registered version in a fresh process with `execution` (see serve-reference.ts). */
function measureReference(config: ReferenceConfig): Promise<InProcessResult[]> {
  const { file, execArgv } = childEntry(__dirname, 'serve-reference', __filename);
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...execArgv, file, JSON.stringify(config)], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
    child.once('error', reject);
    child.once('exit', (code) => {
      try {
        if (code !== 0) throw new Error(`exited with ${code}: ${err.trim()}`);
        resolve(JSON.parse(out.trim().split('\n').pop()!) as InProcessResult[]);
      } catch (e) {
        reject(new Error(`bench serve: the in-process reference failed: ${(e as Error).message}`));
      }
    });
  });
}

export const benchServe: BenchRunner = async (args, log): Promise<BenchLine> => {
  const o = parseServeBenchArgs(args);
  const home = fs.mkdtempSync(path.join(os.tmpdir(), 'floe-bench-serve-'));
  const spec = DEFAULT_LENET;
  const [side] = spec.inputShape;
  const name = 'lenet-bench';
  const synthetic = { seed: 11, count: 48, size: side };
  const loadavg = (): string =>
    os
      .loadavg()
      .map((l) => l.toFixed(1))
      .join(' ');
  try {
    const cpu = os.cpus()[0]?.model ?? 'unknown';
    log(
      `floe bench serve: LeNet-style CNN ${spec.inputShape.join('x')} on ${os.cpus().length} × ${cpu}, load average ${loadavg()}`,
    );
    const records = generateSynthetic(synthetic);
    const store = await openProjectStore({ home });
    try {
      log('registering a LeNet trained for one epoch on 48 synthetic patches (weights do not change the timing)');
      const r = await train({
        model: 'lenet',
        data: recordsTrainingData(records),
        epochs: 1,
        batchSize: 16,
        store,
        display: false,
        snapshot: false,
        experiment: 'bench-serve',
      });
      r.model.dispose();
      await new ModelRegistry(store).register({ runId: r.runId!, name });
    } finally {
      await store.close();
    }

    // The reference: in-process predict under every TensorFlow setting worth trying on this machine,
    // each in a fresh process: floe serve's, TensorFlow's defaults, and all cores with oneDNN.
    const serveExecution = defaultServeExecution();
    const settings: { setting: string; execution: TfExecution }[] = [
      { setting: 'floe serve', execution: serveExecution },
      { setting: 'TensorFlow defaults', execution: { intraOpThreads: null, onednn: null } },
      { setting: 'all cores, oneDNN', execution: { intraOpThreads: null, onednn: true } },
    ];
    const references: ReferenceRun[] = [];
    const runReferences = async (batches: number[], when: string): Promise<void> => {
      for (const s of settings) {
        const results = await measureReference({
          home,
          model: name,
          execution: s.execution,
          batches,
          seconds: o.predictSeconds,
          synthetic,
        });
        references.push({ ...s, results });
        for (const res of results)
          log(
            `in-process predict${when}, ${s.setting} (${describeExecution(s.execution)}), batch ${res.batch}: ${res.ms_per_batch} ms per batch, ${res.throughput} instances/s, ${res.cpu_ms_per_instance} CPU ms per instance`,
          );
      }
    };
    await runReferences([1, 8, 32, 128], '');

    // Request bodies: one instance each, built before timing.
    const jsonBodies = records
      .slice(0, 16)
      .map((rec) => Buffer.from(JSON.stringify({ instances: [patchInstance(rec, side).image] })));
    const b64Bodies = records.slice(0, 16).map((rec) => {
      const v = interleavedBands(rec);
      return Buffer.from(JSON.stringify({ instances: [{ b64: Buffer.from(v.buffer).toString('base64') }] }));
    });
    log(
      `request bodies: ${Math.round(jsonBodies[0]!.length / 1024)} KiB as JSON lists, ${Math.round(b64Bodies[0]!.length / 1024)} KiB as b64 float32`,
    );

    const served: Record<string, LevelResult[]> = {};
    const describe = (label: string, res: LevelResult): string =>
      `${label}, concurrency ${res.concurrency}: ${res.throughput} req/s, p50 ${res.p50_ms} ms, p95 ${res.p95_ms} ms, p99 ${res.p99_ms} ms (${res.requests} requests, ${res.failed} failed, ${res.seconds} s; server ${res.server_cpu_ms_per_request} CPU ms per request, load generator ${res.client_cpu_ms_per_request}; mean batch ${res.mean_batch}; in the server ${res.server_ms_per_request} ms per request, model ${res.model_ms_per_batch} ms per batch; load ${res.loadavg})`;
    // The server as `floe serve` runs it (predict thread, its TensorFlow settings), then variations.
    const passes: { label: string; batching: boolean; predictThread: boolean; concurrencies: number[] }[] = [
      { label: 'batching', batching: true, predictThread: true, concurrencies: o.concurrencies },
      ...(o.concurrencies.includes(32)
        ? [{ label: 'batching_event_loop', batching: true, predictThread: false, concurrencies: [32] }]
        : []),
      ...(o.skipUnbatched
        ? []
        : [{ label: 'no_batching', batching: false, predictThread: true, concurrencies: o.concurrencies }]),
    ];
    log(`served as floe serve runs: ${describeExecution(serveExecution)}, models on a predict thread`);
    for (const pass of passes) {
      const { url, child } = await startServer(
        home,
        name,
        { enabled: pass.batching, maxBatchSize: o.maxBatchSize, maxWaitUs: o.maxWaitUs },
        pass.predictThread,
        serveExecution,
        log,
        o.serverCpuProf,
      );
      try {
        const target = `${url}/v1/models/${name}:predict`;
        await loadLevel(url, target, jsonBodies, 4, 16, o.seconds); // warm-up: connections, kernels, JIT
        served[pass.label] = [];
        for (const c of pass.concurrencies) {
          const res = await loadLevel(url, target, jsonBodies, c, Math.max(o.requests, c * 4), o.seconds);
          served[pass.label]!.push(res);
          log(describe(pass.label, res));
        }
        if (pass.label === 'batching') {
          // The same levels with the bodies in Floe's binary form (b64 float32), where measured.
          served.batching_b64 = [];
          for (const c of [1, 32].filter((c) => o.concurrencies.includes(c))) {
            const res = await loadLevel(url, target, b64Bodies, c, Math.max(o.requests, c * 4), o.seconds);
            served.batching_b64.push(res);
            log(describe('batching, b64 float32 bodies', res));
          }
        }
      } finally {
        await stopServer(child);
      }
      // Batch 32 again right after the served levels: a slow moment never flatters the ratio.
      if (pass.label === 'batching') await runReferences([32], ' (again, after the served levels)');
    }

    // The reference: the best in-process batch-32 throughput over every setting and both measurements.
    const at = (r: ReferenceRun, batch: number): InProcessResult | undefined =>
      r.results.find((x) => x.batch === batch);
    const best32 = references
      .filter((r) => at(r, 32))
      .reduce((a, b) => (at(b, 32)!.throughput > at(a, 32)!.throughput ? b : a));
    const reference32 = at(best32, 32)!;
    const sameSetting32 = references
      .filter((r) => r.setting === 'floe serve' && at(r, 32))
      .map((r) => at(r, 32)!)
      .reduce((a, b) => (b.throughput > a.throughput ? b : a));
    const at32 = served.batching?.find((l) => l.concurrency === 32);
    const at1 = served.batching?.find((l) => l.concurrency === 1);
    const loop32 = served.batching_event_loop?.[0];
    const b64At32 = served.batching_b64?.find((l) => l.concurrency === 32);
    const ratio = at32 ? round(at32.throughput / reference32.throughput, 3) : null;
    return {
      bench: 'serve',
      ratio,
      ...BENCH_GOALS.serve,
      ...(ratio === null ? { unavailable: 'concurrency 32 was not measured (see --concurrency)' } : {}),
      model: `lenet ${spec.inputShape.join('x')}`,
      reference: `in-process batched predict (same version, same execution path), batch 32, the best over three TensorFlow settings and two measurements: ${best32.setting} (${describeExecution(best32.execution)})`,
      request_form: 'one instance per request, JSON lists (TF Serving row form)',
      served_as: `floe serve defaults: ${describeExecution(serveExecution)}, predict thread`,
      served_throughput_c32: at32?.throughput ?? null,
      in_process_throughput_b32: reference32.throughput,
      // Against the in-process figure with the server's own TensorFlow settings.
      ratio_same_setting: at32 ? round(at32.throughput / sameSetting32.throughput, 3) : null,
      ratio_b64: b64At32 ? round(b64At32.throughput / reference32.throughput, 3) : null,
      ratio_event_loop: loop32 ? round(loop32.throughput / reference32.throughput, 3) : null,
      p99_ms_c1: at1?.p99_ms ?? null,
      p99_ms_c1_b64: served.batching_b64?.find((l) => l.concurrency === 1)?.p99_ms ?? null,
      p99_goal_ms_c1: 5,
      in_process_cpu_ms_per_instance_b32: reference32.cpu_ms_per_instance,
      server_cpu_ms_per_request_c32: at32?.server_cpu_ms_per_request ?? null,
      client_cpu_ms_per_request_c32: at32?.client_cpu_ms_per_request ?? null,
      in_process: references,
      served,
      machine: {
        cpus: os.cpus().length,
        cpu: os.cpus()[0]?.model ?? 'unknown',
        loadavg: os.loadavg().map((l) => round(l, 1)),
      },
    };
  } finally {
    fs.rmSync(home, { recursive: true, force: true });
  }
};
