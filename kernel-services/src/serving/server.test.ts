import * as http from 'node:http';
import { ModelMetadataResponse, ModelStatusResponse } from '@floe/schema';
import type { Tensor } from '@tensorflow/tfjs-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ModelRegistry } from '../registry/registry';
import type { ProjectStore } from '../store';
import { loadTf, tfExecution } from '../training/backend';
import { tempStore, tinyData, TINY_LENET, TINY_SIDE } from '../training/fixtures.test-support';
import { SeededRandom } from '../training/random';
import { train } from '../training/train';
import { defaultServeExecution, serveOptionsFromArgs } from './cli';
import { serve, type ModelServer } from './server';

const S = TINY_SIDE;
let store: ProjectStore;
let cleanup: () => Promise<void>;
let registry: ModelRegistry;
let server: ModelServer;
const runIds: number[] = [];

interface Reply {
  status: number;
  body: Record<string, unknown>;
  headers: http.IncomingHttpHeaders;
}

const agent = new http.Agent({ keepAlive: true, maxSockets: 32 });

/** One HTTP request on loopback; the body is sent as given (a string) or as JSON. */
function request(method: string, url: string, body?: unknown, headers: Record<string, string> = {}): Promise<Reply> {
  const data =
    body === undefined ? undefined : typeof body === 'string' || Buffer.isBuffer(body) ? body : JSON.stringify(body);
  return new Promise((resolve, reject) => {
    const req = http.request(
      url,
      {
        method,
        agent,
        headers: { ...(data !== undefined ? { 'content-length': String(Buffer.byteLength(data)) } : {}), ...headers },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let parsed: Record<string, unknown>;
          try {
            parsed = JSON.parse(text) as Record<string, unknown>;
          } catch {
            parsed = { text };
          }
          resolve({ status: res.statusCode!, body: parsed, headers: res.headers });
        });
      },
    );
    req.on('error', reject);
    if (data !== undefined) req.write(data);
    req.end();
  });
}

const post = (path: string, body: unknown): Promise<Reply> => request('POST', `${server.url}${path}`, body);
const get = (path: string): Promise<Reply> => request('GET', `${server.url}${path}`);

/** Patches in the tiny fixtures' units (around 0, a bright target for label 1). */
function images(n: number, seed: number): Float32Array {
  const rng = new SeededRandom(seed);
  const out = new Float32Array(n * S * S * 2);
  for (let i = 0; i < out.length; i++) out[i] = rng.next() - 0.5 + (rng.next() < 0.02 ? 2.5 : 0);
  return out;
}

function nested(x: Float32Array, i: number): number[][][] {
  const base = i * S * S * 2;
  return Array.from({ length: S }, (_, y) =>
    Array.from({ length: S }, (_, xx) => [x[base + (y * S + xx) * 2]!, x[base + (y * S + xx) * 2 + 1]!]),
  );
}

function b64(x: Float32Array): string {
  return Buffer.from(x.buffer, x.byteOffset, x.byteLength).toString('base64');
}

/** The registered version's network run in process, with the standardisation it was trained with. */
async function inProcess(ref: string, x: Float32Array, n: number): Promise<number[]> {
  const tf = loadTf();
  const { model, version } = await registry.load(ref);
  const pre = (version.signature as { preprocessing: { channelMean: number[]; channelStd: number[] } | null })
    .preprocessing;
  const out = tf.tidy(() => {
    let t = tf.tensor4d(x, [n, S, S, 2]);
    if (pre) t = t.sub(tf.tensor1d(pre.channelMean)).div(tf.tensor1d(pre.channelStd));
    return Array.from((model.predict(t) as Tensor).dataSync());
  });
  model.dispose();
  return out;
}

beforeAll(async () => {
  ({ store, cleanup } = await tempStore());
  registry = new ModelRegistry(store);
  for (const seed of [1, 2, 3]) {
    const data = tinyData({ train: 32, validation: 16, seed });
    const r = await train({
      model: 'lenet',
      modelOptions: TINY_LENET,
      data,
      epochs: 1,
      batchSize: 16,
      store,
      display: false,
      experiment: 'serving',
      snapshot: false,
      seed,
    });
    r.model.dispose();
    runIds.push(r.runId!);
  }
  await registry.register({ runId: runIds[0]!, name: 'tiny', aliases: ['production'] });
  // A version whose model file is damaged after registration: it must fail to load, alone.
  const broken = await registry.register({ runId: runIds[2]!, name: 'broken' });
  await store.blobs.put(`${broken.blobPrefix}model.json`, '{"modelTopology": ');
  server = await serve({
    store,
    port: 0,
    pollIntervalMs: 100,
    maxBodyBytes: 256 * 1024,
    batching: { maxBatchSize: 32, maxWaitUs: 2000 },
  });
});

afterAll(async () => {
  agent.destroy();
  await server?.close();
  await cleanup?.();
});

describe('model status and metadata', () => {
  it('reports the served version as TF Serving does, by name, version and label', async () => {
    for (const path of ['/v1/models/tiny', '/v1/models/tiny/versions/1', '/v1/models/tiny/labels/production']) {
      const r = await get(path);
      expect(r.status).toBe(200);
      expect(ModelStatusResponse.parse(r.body)).toEqual({
        model_version_status: [{ version: '1', state: 'AVAILABLE', status: { error_code: 'OK', error_message: '' } }],
      });
    }
  });

  it('describes the signature: input names, dtypes and shapes', async () => {
    const r = await get('/v1/models/tiny/metadata');
    expect(r.status).toBe(200);
    const meta = ModelMetadataResponse.parse(r.body);
    expect(meta.model_spec).toEqual({ name: 'tiny', signature_name: '', version: '1' });
    const sig = meta.metadata.signature_def.signature_def.serving_default!;
    expect(sig.method_name).toBe('tensorflow/serving/predict');
    expect(Object.keys(sig.inputs)).toEqual(['image']);
    expect(sig.inputs.image!.dtype).toBe('DT_FLOAT');
    expect(sig.inputs.image!.tensor_shape.dim.map((d) => d.size)).toEqual(['-1', String(S), String(S), '2']);
    expect(sig.outputs.output!.tensor_shape.dim.map((d) => d.size)).toEqual(['-1', '1']);
    expect(meta.metadata.floe).toMatchObject({ channels: ['hh', 'hv'], angleFeature: null, aliases: ['production'] });
  });

  it('keeps serving when a version fails to load, and reports the error in its status', async () => {
    const status = await get('/v1/models/broken');
    expect(status.status).toBe(200);
    const v = ModelStatusResponse.parse(status.body).model_version_status[0]!;
    expect(v).toMatchObject({ version: '1', state: 'END', status: { error_code: 'UNKNOWN' } });
    expect(v.status.error_message).toMatch(/JSON/);
    const predict = await post('/v1/models/broken:predict', { instances: [nested(images(1, 1), 0)] });
    expect(predict.status).toBe(404);
    expect(predict.body.error).toMatch(/Servable not found for request: Latest\(broken\): version 1 failed to load/);
    expect((await get('/healthz')).status).toBe(200);
    expect((await post('/v1/models/tiny:predict', { instances: [nested(images(1, 1), 0)] })).status).toBe(200);
  });
});

describe('predict', () => {
  it('answers the row form with the in-process predictions', async () => {
    const x = images(3, 5);
    const r = await post('/v1/models/tiny:predict', { instances: [0, 1, 2].map((i) => nested(x, i)) });
    expect(r.status).toBe(200);
    const expected = await inProcess('tiny:1', x, 3);
    const got = (r.body.predictions as number[][]).map((p) => p[0]!);
    expect(got).toHaveLength(3);
    got.forEach((p, i) => expect(p).toBeCloseTo(expected[i]!, 5));
    expect(r.headers['x-floe-model-version']).toBe('1');
  });

  it('answers the columnar form with outputs, by version and by label', async () => {
    const x = images(2, 6);
    const expected = await inProcess('tiny:1', x, 2);
    for (const path of ['/v1/models/tiny/versions/1:predict', '/v1/models/tiny/labels/production:predict']) {
      const r = await post(path, {
        signature_name: 'serving_default',
        inputs: { image: [nested(x, 0), nested(x, 1)] },
      });
      expect(r.status).toBe(200);
      expect((r.body.outputs as number[][]).map((p) => p[0]!)).toEqual(expected.map((e) => expect.closeTo(e, 5)));
    }
    // A single-input model also takes the bare tensor as `inputs`.
    const bare = await post('/v1/models/tiny:predict', { inputs: [nested(x, 0)] });
    expect((bare.body.outputs as number[][])[0]![0]).toBeCloseTo(expected[0]!, 5);
  });

  it('takes binary float32 inputs as {"b64": ...}, per instance and per batch', async () => {
    const x = images(2, 7);
    const expected = await inProcess('tiny:1', x, 2);
    const one = S * S * 2;
    const rows = await post('/v1/models/tiny:predict', {
      instances: [{ b64: b64(x.subarray(0, one)) }, { image: { b64: b64(x.subarray(one)) } }],
    });
    expect(rows.status).toBe(200);
    expect((rows.body.predictions as number[][]).map((p) => p[0]!)).toEqual(expected.map((e) => expect.closeTo(e, 5)));
    const columns = await post('/v1/models/tiny:predict', { inputs: { image: { b64: b64(x) } } });
    expect((columns.body.outputs as number[][]).map((p) => p[0]!)).toEqual(expected.map((e) => expect.closeTo(e, 5)));
  });

  it('runs concurrent requests as batches and gives each its own predictions', async () => {
    const n = 24;
    const x = images(n, 8);
    const expected = await inProcess('tiny:1', x, n);
    const batchesBefore = batchCount();
    const replies = await Promise.all(
      Array.from({ length: n }, (_, i) => post('/v1/models/tiny:predict', { instances: [nested(x, i)] })),
    );
    replies.forEach((r, i) => {
      expect(r.status).toBe(200);
      expect((r.body.predictions as number[][])[0]![0]).toBeCloseTo(expected[i]!, 5);
    });
    const batches = batchCount() - batchesBefore;
    expect(batches).toBeGreaterThan(0);
    expect(batches).toBeLessThan(n);
  });
});

/** Batches executed for tiny version 1, from the Prometheus text. */
function batchCount(): number {
  const m = /floe_serving_batch_size_count\{model="tiny",version="1"\} (\d+)/.exec(server.metrics.render());
  return m ? Number(m[1]) : 0;
}

describe('bad requests', () => {
  const one = (): number[][][] => nested(images(1, 9), 0);

  it('refuses a body that is not JSON with 400', async () => {
    const r = await post('/v1/models/tiny:predict', '{"instances": [1, 2');
    expect(r.status).toBe(400);
    expect(r.body.error).toMatch(/^JSON parse error/);
  });

  it('refuses a request with both instances and inputs with 400', async () => {
    const r = await post('/v1/models/tiny:predict', { instances: [one()], inputs: [one()] });
    expect(r.status).toBe(400);
    expect(r.body.error).toMatch(/both 'instances' and 'inputs'/);
  });

  it('refuses empty instances with 400', async () => {
    const r = await post('/v1/models/tiny:predict', { instances: [] });
    expect(r.status).toBe(400);
    expect(r.body.error).toMatch(/'instances' is empty/);
  });

  it('refuses a request with neither instances nor inputs with 400', async () => {
    const r = await post('/v1/models/tiny:predict', { examples: [] });
    expect(r.status).toBe(400);
    expect(r.body.error).toMatch(/Missing 'inputs' or 'instances' key/);
  });

  it('refuses a body that is not an object with 400', async () => {
    const r = await post('/v1/models/tiny:predict', [one()]);
    expect(r.status).toBe(400);
    expect(r.body.error).toMatch(/must be a JSON object/);
  });

  it('refuses a wrong shape with 400 naming the instance, input and dimension', async () => {
    const bad = one();
    bad[3] = bad[3]!.slice(1);
    const r = await post('/v1/models/tiny:predict', { instances: [one(), bad] });
    expect(r.status).toBe(400);
    expect(r.body.error).toBe(
      `instance 1, input 'image': expected shape [${S}, ${S}, 2]; the list at instances[1][3] has ${S - 1} items, dimension 1 is ${S}`,
    );
  });

  it('refuses a wrong dtype with 400 naming the position', async () => {
    const bad = one();
    (bad[2]![5] as unknown[])[1] = 'high';
    const r = await post('/v1/models/tiny:predict', { instances: [bad] });
    expect(r.status).toBe(400);
    expect(r.body.error).toBe(
      `instance 0, input 'image': expected a number (DT_FLOAT) at instances[0][2][5][1], got the string "high"`,
    );
  });

  it('refuses a non-finite pixel (TF Serving NaN token) with 400', async () => {
    const text = JSON.stringify({ instances: [one()] }).replace(/^(\{"instances":\[\[\[\[)[^,]+/, '$1NaN');
    const r = await post('/v1/models/tiny:predict', text);
    expect(r.status).toBe(400);
    expect(r.body.error).toMatch(/NaN at instances\[0\]\[0\]\[0\]\[0\]; image values must be finite/);
  });

  it('refuses a binary input of the wrong length with 400', async () => {
    const r = await post('/v1/models/tiny:predict', { instances: [{ b64: b64(new Float32Array(10)) }] });
    expect(r.status).toBe(400);
    expect(r.body.error).toMatch(/"b64" decodes to 40 bytes, expected 2048 bytes/);
  });

  it('refuses an unknown input name with 400', async () => {
    const r = await post('/v1/models/tiny:predict', { instances: [{ image: one(), inc_angle: 35 }] });
    expect(r.status).toBe(400);
    expect(r.body.error).toMatch(/instance 0: unknown input 'inc_angle'; the signature's inputs are 'image'/);
  });

  it('refuses an unknown signature name with 400', async () => {
    const r = await post('/v1/models/tiny:predict', { signature_name: 'classify', instances: [one()] });
    expect(r.status).toBe(400);
    expect(r.body.error).toMatch(/Serving signature name: "classify" not found/);
  });

  it('refuses a body over the size limit with 413 and stays up', async () => {
    const big = JSON.stringify({ instances: Array.from({ length: 80 }, () => one()) });
    expect(big.length).toBeGreaterThan(256 * 1024);
    const r = await post('/v1/models/tiny:predict', big);
    expect(r.status).toBe(413);
    expect(r.body.error).toMatch(/larger than the limit of 262144 bytes/);
    expect((await post('/v1/models/tiny:predict', { instances: [one()] })).status).toBe(200);
  });

  it('answers an unknown model with 404', async () => {
    const r = await post('/v1/models/nothing:predict', { instances: [one()] });
    expect(r.status).toBe(404);
    expect(r.body.error).toBe('Servable not found for request: Latest(nothing)');
    expect((await get('/v1/models/nothing')).status).toBe(404);
  });

  it('answers an unknown version with 404', async () => {
    const r = await post('/v1/models/tiny/versions/7:predict', { instances: [one()] });
    expect(r.status).toBe(404);
    expect(r.body.error).toBe('Servable not found for request: Specific(tiny, 7)');
    expect((await get('/v1/models/tiny/versions/7')).status).toBe(404);
  });

  it('answers an unknown label with 404', async () => {
    const r = await post('/v1/models/tiny/labels/canary:predict', { instances: [one()] });
    expect(r.status).toBe(404);
    expect(r.body.error).toMatch(/Unrecognized servable version label: canary/);
  });

  it('answers malformed paths with 404, wrong methods with 405 and other verbs with 400', async () => {
    expect((await get('/v2/models/tiny')).status).toBe(404);
    const wrongMethod = await get('/v1/models/tiny:predict');
    expect(wrongMethod.status).toBe(405);
    expect(wrongMethod.headers.allow).toBe('POST');
    const classify = await post('/v1/models/tiny:classify', { examples: [] });
    expect(classify.status).toBe(400);
    expect(classify.body.error).toMatch(/':classify' is not supported/);
  });
});

describe('health, metrics and the request log', () => {
  it('reports health and Prometheus metrics', async () => {
    const h = await get('/healthz');
    expect(h.status).toBe(200);
    expect(h.body.status).toBe('ok');
    expect(h.body.models).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ name: 'tiny', version: 1, state: 'AVAILABLE', labels: ['production'] }),
      ]),
    );
    const res = await fetch(`${server.url}/metrics`);
    expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    const text = await res.text();
    expect(text).toMatch(/floe_serving_requests_total\{api="predict",code="200",model="tiny",version="1"\} \d+/);
    expect(text).toMatch(/floe_serving_requests_total\{api="predict",code="404",model="nothing",version=""\} \d+/);
    expect(text).toMatch(/floe_serving_request_duration_seconds_bucket\{model="tiny",version="1",le="0.005"\} \d+/);
    expect(text).toMatch(/floe_serving_batch_size_bucket\{model="tiny",version="1",le="\+Inf"\} \d+/);
    expect(text).toMatch(/floe_serving_model_version_state\{model="broken",state="END",version="1"\} 1/);
    expect(text).toMatch(/^# TYPE process_cpu_seconds_total counter\nprocess_cpu_seconds_total [0-9.]+$/m);
  });

  it('logs served requests into the store with input summaries and outputs', async () => {
    const x = images(2, 11);
    const r = await post('/v1/models/tiny/labels/production:predict', { instances: [nested(x, 0), nested(x, 1)] });
    await server.requestLog!.flush();
    const row = await store.db
      .selectFrom('serving_request')
      .selectAll()
      .where('selector', '=', 'label:production')
      .orderBy('id', 'desc')
      .executeTakeFirstOrThrow();
    expect(row).toMatchObject({ model: 'tiny', version: 1, instances: 2 });
    expect(row.latency_ms).toBeGreaterThan(0);
    const outputs = JSON.parse(row.outputs) as number[];
    expect(outputs).toEqual((r.body.predictions as number[][]).map((p) => p[0]));
    const summary = JSON.parse(row.input_summary) as {
      bands: { band: string; count: number; mean: number; min: number; max: number }[];
      angles: null;
    };
    expect(summary.bands.map((b) => [b.band, b.count])).toEqual([
      ['hh', 2 * S * S],
      ['hv', 2 * S * S],
    ]);
    let hh = 0;
    for (let i = 0; i < x.length; i += 2) hh += x[i]!;
    expect(summary.bands[0]!.mean).toBeCloseTo(hh / (2 * S * S), 5);
    expect(summary.angles).toBeNull();
  });
});

describe('load', () => {
  it('answers a burst of 10,000 requests: none lost or answered twice, memory bounded', async () => {
    const distinct = 20;
    const x = images(distinct, 12);
    const expected = await inProcess('tiny:1', x, distinct);
    const bodies = Array.from({ length: distinct }, (_, i) => JSON.stringify({ instances: [nested(x, i)] }));
    const total = 10_000;
    const concurrency = 32;
    const answers = new Uint8Array(total);
    const heapBefore = process.memoryUsage().heapUsed;
    const logBefore = server.requestLog!.stats;
    let next = 0;
    let failures = 0;
    let wrong = 0;
    const worker = async (): Promise<void> => {
      while (next < total) {
        const i = next++;
        const r = await post('/v1/models/tiny/versions/1:predict', bodies[i % distinct]!);
        if (r.status !== 200) failures++;
        else if (Math.abs((r.body.predictions as number[][])[0]![0]! - expected[i % distinct]!) > 1e-5) wrong++;
        answers[i]!++;
      }
    };
    await Promise.all(Array.from({ length: concurrency }, worker));
    expect(failures).toBe(0);
    expect(wrong).toBe(0);
    expect(answers.every((a) => a === 1)).toBe(true);
    const heapGrowth = process.memoryUsage().heapUsed - heapBefore;
    expect(heapGrowth).toBeLessThan(200 * 1024 * 1024);
    await server.requestLog!.flush();
    const after = server.requestLog!.stats;
    expect(after.recorded - logBefore.recorded + (after.dropped - logBefore.dropped)).toBe(total);
    expect(after.queued).toBe(0);
    const logged = await store.db
      .selectFrom('serving_request')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('selector', '=', 'version')
      .executeTakeFirstOrThrow();
    expect(Number(logged.n)).toBeGreaterThanOrEqual(after.written - logBefore.written);
  });

  it('swaps in a new version and a moved label under load without failing a request', async () => {
    const x = images(4, 13);
    const bodies = [0, 1, 2, 3].map((i) => JSON.stringify({ instances: [nested(x, i)] }));
    const v1 = server.models.acquire('tiny', { kind: 'version', version: 1 });
    v1.release();
    const seen = { latest: new Set<string>(), label: new Set<string>() };
    let failures = 0;
    let stop = false;
    let sent = 0;
    const client = async (path: string, versions: Set<string>): Promise<void> => {
      while (!stop) {
        const r = await post(path, bodies[sent++ % 4]!);
        if (r.status !== 200) failures++;
        versions.add(String(r.headers['x-floe-model-version']));
      }
    };
    const clients = [0, 1, 2].flatMap(() => [
      client('/v1/models/tiny:predict', seen.latest),
      client('/v1/models/tiny/labels/production:predict', seen.label),
    ]);
    await new Promise((r) => setTimeout(r, 200));
    await registry.register({ runId: runIds[1]!, name: 'tiny', aliases: ['production'] });
    const deadline = Date.now() + 30_000;
    while (!v1.disposed && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    await new Promise((r) => setTimeout(r, 200));
    stop = true;
    await Promise.all(clients);
    expect(failures).toBe(0);
    expect(v1.disposed).toBe(true);
    expect([...seen.latest].sort()).toEqual(['1', '2']);
    expect([...seen.label].sort()).toEqual(['1', '2']);
    expect(
      ModelStatusResponse.parse((await get('/v1/models/tiny')).body).model_version_status.map((v) => [
        v.version,
        v.state,
      ]),
    ).toEqual([['2', 'AVAILABLE']]);
    const expected = await inProcess('tiny:2', x.subarray(0, S * S * 2), 1);
    const r = await post('/v1/models/tiny/labels/production:predict', bodies[0]!);
    expect((r.body.predictions as number[][])[0]![0]).toBeCloseTo(expected[0]!, 5);
    expect((await post('/v1/models/tiny/versions/1:predict', bodies[0]!)).status).toBe(404);
  });
});

describe('batching off and configuration', () => {
  it('answers the same on a predict thread (the default of floe serve), every request answered once', async () => {
    expect(serveOptionsFromArgs([], { 'predict-thread': true }).predictThread).toBe(true);
    expect(serveOptionsFromArgs([], {}).predictThread).toBe(true);
    expect(serveOptionsFromArgs([], { 'no-predict-thread': true }).predictThread).toBe(false);
    expect(() => serveOptionsFromArgs([], { 'predict-thread': true, 'no-predict-thread': true })).toThrow(/contradict/);
    const logged: string[] = [];
    const threaded = await serve({
      store,
      port: 0,
      pollIntervalMs: 0,
      requestLog: false,
      models: ['tiny'],
      predictThread: true,
      deployment: { name: 'threaded' },
      // TensorFlow is loaded in this process already: the settings cannot change, and the server says so.
      execution: { intraOpThreads: 97 },
      log: (l) => logged.push(l),
    });
    try {
      expect(threaded.predictThread).not.toBeNull();
      expect(logged.join('\n')).toMatch(
        /TensorFlow is already loaded in this process, so it keeps .* \(asked for 97 intra-op threads, .*\)/,
      );
      const row = await store.db
        .selectFrom('deployment')
        .select('config')
        .where('id', '=', threaded.deployment!.id)
        .executeTakeFirstOrThrow();
      const config = JSON.parse(String(row.config)) as { execution: unknown };
      expect(config.execution).toEqual({ predictThread: true, ...tfExecution() });
      const n = 12;
      const x = images(n, 21);
      const expected = await inProcess('tiny:2', x, n);
      const replies = await Promise.all(
        Array.from({ length: n }, (_, i) =>
          request('POST', `${threaded.url}/v1/models/tiny:predict`, { instances: [nested(x, i)] }),
        ),
      );
      replies.forEach((r, i) => expect((r.body.predictions as number[][])[0]![0]).toBeCloseTo(expected[i]!, 5));
      // Every instance ran in exactly one batch (how many batches depends on timing).
      expect(
        Number(/floe_serving_batch_size_sum\{model="tiny",version="2"\} (\d+)/.exec(threaded.metrics.render())?.[1]),
      ).toBe(n);
    } finally {
      await threaded.close();
    }
  });

  it('gives floe serve one intra-op thread per core but one and oneDNN, unless told or the environment says otherwise', () => {
    const saved = { threads: process.env.TF_NUM_INTRAOP_THREADS, onednn: process.env.TF_ENABLE_ONEDNN_OPTS };
    try {
      delete process.env.TF_NUM_INTRAOP_THREADS;
      delete process.env.TF_ENABLE_ONEDNN_OPTS;
      expect(defaultServeExecution(2)).toEqual({ intraOpThreads: 1, onednn: true });
      expect(defaultServeExecution(16)).toEqual({ intraOpThreads: 15, onednn: true });
      expect(defaultServeExecution(1)).toEqual({ intraOpThreads: 1, onednn: true });
      const flags = serveOptionsFromArgs([], { 'intra-op-threads': '3', 'no-onednn': true }).execution;
      expect(flags).toEqual({ intraOpThreads: 3, onednn: false });
      expect(() => serveOptionsFromArgs([], { 'intra-op-threads': '0' })).toThrow(
        "serve: --intra-op-threads must be an integer >= 1, got '0'",
      );
      process.env.TF_NUM_INTRAOP_THREADS = '4';
      process.env.TF_ENABLE_ONEDNN_OPTS = '0';
      expect(defaultServeExecution(2)).toEqual({ intraOpThreads: 4, onednn: false });
    } finally {
      for (const [k, v] of [
        ['TF_NUM_INTRAOP_THREADS', saved.threads],
        ['TF_ENABLE_ONEDNN_OPTS', saved.onednn],
      ] as const) {
        if (v === undefined) delete process.env[k];
        else process.env[k] = v;
      }
    }
  });

  it('runs every request alone when batching is off', async () => {
    const solo = await serve({
      store,
      port: 0,
      pollIntervalMs: 0,
      batching: false,
      requestLog: false,
      models: ['tiny'],
    });
    try {
      const x = images(8, 14);
      const replies = await Promise.all(
        Array.from({ length: 8 }, (_, i) =>
          request('POST', `${solo.url}/v1/models/tiny:predict`, { instances: [nested(x, i)] }),
        ),
      );
      expect(replies.every((r) => r.status === 200)).toBe(true);
      const text = solo.metrics.render();
      expect(text).toMatch(/floe_serving_batch_size_bucket\{model="tiny",version="2",le="1"\} 8/);
      expect(text).toMatch(/floe_serving_batch_size_count\{model="tiny",version="2"\} 8/);
    } finally {
      await solo.close();
    }
  });

  it('waits out the batch window only when requests overlap', async () => {
    const windowed = await serve({
      store,
      port: 0,
      pollIntervalMs: 0,
      batching: { maxBatchSize: 32, maxWaitUs: 1_500_000 },
      requestLog: false,
      models: ['tiny'],
    });
    const url = `${windowed.url}/v1/models/tiny:predict`;
    const metric = (name: string): number =>
      Number(new RegExp(`${name}\\{model="tiny",version="2"\\} (\\d+)`).exec(windowed.metrics.render())?.[1] ?? 0);
    try {
      const x = images(6, 15);
      const expected = await inProcess('tiny:2', x, 6);
      // One client at a time: no request pays the 1.5 s window.
      for (let i = 0; i < 3; i++) {
        const t = performance.now();
        const r = await request('POST', url, { instances: [nested(x, i)] });
        expect(performance.now() - t).toBeLessThan(1000);
        expect((r.body.predictions as number[][])[0]![0]).toBeCloseTo(expected[i]!, 5);
      }
      expect(metric('floe_serving_batch_size_count')).toBe(3);

      // Overlapping requests: a slow client's body is half sent when a complete request comes; the
      // complete one waits for the window and both run as one batch.
      const body = JSON.stringify({ instances: [nested(x, 3)] });
      const slow = http.request(url, {
        method: 'POST',
        agent: false,
        headers: { 'content-length': String(body.length) },
      });
      const slowReply = new Promise<Reply>((resolve, reject) => {
        slow.on('response', (res) => {
          let text = '';
          res.on('data', (c: Buffer) => (text += c.toString()));
          res.on('end', () => resolve({ status: res.statusCode!, body: JSON.parse(text), headers: res.headers }));
        });
        slow.on('error', reject);
      });
      slow.write(body.slice(0, 100));
      await new Promise((r) => setTimeout(r, 200));
      const started = performance.now();
      const quick = request('POST', url, { instances: [nested(x, 4)] });
      await new Promise((r) => setTimeout(r, 300));
      slow.end(body.slice(100));
      const [a, b] = await Promise.all([slowReply, quick]);
      expect(performance.now() - started).toBeGreaterThanOrEqual(1400);
      expect((a.body.predictions as number[][])[0]![0]).toBeCloseTo(expected[3]!, 5);
      expect((b.body.predictions as number[][])[0]![0]).toBeCloseTo(expected[4]!, 5);
      expect(metric('floe_serving_batch_size_count')).toBe(4);
      expect(metric('floe_serving_batch_size_sum')).toBe(5); // the last batch held both
    } finally {
      await windowed.close();
    }
  });

  it('refuses to listen beyond loopback unless told to, and bad options', async () => {
    await expect(serve({ store, host: '0.0.0.0', port: 0 })).rejects.toThrow(/refusing to listen on 0.0.0.0/);
    await expect(serve({ store, port: 0, batching: { maxBatchSize: 0 } })).rejects.toThrow(
      /maxBatchSize must be a positive integer/,
    );
  });
});
