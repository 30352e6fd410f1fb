import { describe, expect, it } from 'vitest';
import { parseServeBenchArgs } from './serve';

describe('floe bench serve options', () => {
  it('reads the documented options and keeps the defaults otherwise', () => {
    expect(parseServeBenchArgs([])).toEqual({
      concurrencies: [1, 8, 32, 128],
      requests: 600,
      seconds: 30,
      predictSeconds: 3,
      maxBatchSize: 32,
      maxWaitUs: 0,
      skipUnbatched: false,
      serverCpuProf: null,
    });
    expect(
      parseServeBenchArgs(['--concurrency', '1,32', '--requests=50', '--max-wait-us', '500', '--skip-unbatched']),
    ).toMatchObject({
      concurrencies: [1, 32],
      requests: 50,
      maxWaitUs: 500,
      skipUnbatched: true,
    });
  });

  it('names the option at fault', () => {
    expect(() => parseServeBenchArgs(['--concurrency', '1,x'])).toThrow(/--concurrency takes positive integers/);
    expect(() => parseServeBenchArgs(['--requests', '0'])).toThrow(/--requests must be a number >= 1/);
    expect(() => parseServeBenchArgs(['--rounds', '3'])).toThrow(/unknown option --rounds/);
    expect(() => parseServeBenchArgs(['--seconds'])).toThrow(/--seconds needs a value/);
  });
});
