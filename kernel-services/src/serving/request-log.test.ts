import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { summarizeInputs } from '../monitoring/summary';
import type { ProjectStore } from '../store';
import { tempStore } from '../training/fixtures.test-support';
import { RequestLog, type RequestLogEntry } from './request-log';

let store: ProjectStore;
let cleanup: () => Promise<void>;

beforeAll(async () => {
  ({ store, cleanup } = await tempStore());
});

afterAll(async () => {
  await cleanup?.();
});

function entry(model: string, i: number): RequestLogEntry {
  return {
    at: new Date(Date.UTC(2026, 0, 1, 0, 0, i)),
    model,
    version: 1,
    selector: 'latest',
    instances: 1,
    batchSize: 1,
    latencyMs: i,
    inputs: summarizeInputs(
      { channels: ['band_1', 'band_2'], imageSize: 4, hasAngle: false },
      null,
      new Float32Array([i, -i, 1, 2, 3, 4, 5, 6]),
      null,
      1,
    ),
    outputs: [i / 100],
  };
}

async function logged(model: string): Promise<number[]> {
  const rows = await store.db
    .selectFrom('serving_request')
    .select(['latency_ms'])
    .where('model', '=', model)
    .orderBy('id')
    .execute();
  return rows.map((r) => Number(r.latency_ms));
}

describe('request log', () => {
  it('writes every queued entry, in order, in small inserts that let the event loop run between them', async () => {
    const log = new RequestLog(store, { insertRows: 3, flushRows: 1000, flushIntervalMs: 60_000 });
    for (let i = 0; i < 10; i++) expect(log.record(entry('in-slices', i))).toBe(true);
    let turns = 0;
    let counting = true;
    const tick = (): void => {
      turns++;
      if (counting) setImmediate(tick);
    };
    setImmediate(tick);
    await log.flush();
    counting = false;
    // Four inserts (3 + 3 + 3 + 1) with a turn of the event loop after each of the first three.
    expect(turns).toBeGreaterThanOrEqual(3);
    expect(await logged('in-slices')).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(log.stats).toEqual({ recorded: 10, written: 10, dropped: 0, failed: 0, queued: 0 });
    await log.close();
  });

  it('takes entries that arrive during a flush and writes them too; close writes what is left', async () => {
    const log = new RequestLog(store, { insertRows: 2, flushRows: 4, flushIntervalMs: 60_000 });
    for (let i = 0; i < 4; i++) log.record(entry('during-flush', i)); // the fourth starts a flush
    for (let i = 4; i < 7; i++) log.record(entry('during-flush', i));
    await log.close();
    expect(await logged('during-flush')).toEqual([0, 1, 2, 3, 4, 5, 6]);
    expect(log.record(entry('during-flush', 7))).toBe(false);
    expect(log.stats).toMatchObject({ recorded: 7, written: 7, dropped: 1, queued: 0 });
  });

  it('is bounded: a full queue drops and counts new entries', async () => {
    const log = new RequestLog(store, { capacity: 5, flushRows: 1000, flushIntervalMs: 60_000 });
    const kept = Array.from({ length: 8 }, (_, i) => log.record(entry('bounded', i)));
    expect(kept).toEqual([true, true, true, true, true, false, false, false]);
    await log.close();
    expect(await logged('bounded')).toEqual([0, 1, 2, 3, 4]);
    expect(log.stats).toMatchObject({ recorded: 5, written: 5, dropped: 3 });
  });

  it('refuses bad options', () => {
    expect(() => new RequestLog(store, { insertRows: 0 })).toThrow(/insertRows must be a positive integer/);
  });
});
