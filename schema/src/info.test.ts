import { describe, expect, it } from 'vitest';
import { API_VERSION, InfoResponse } from './index';

const sample = {
  floeVersion: '0.1.0',
  apiVersion: API_VERSION,
  node: 'v20.20.2',
  platform: 'linux-x64',
  tensorflow: {
    backend: 'tensorflow',
    native: true,
    version: '2.20.0',
    tfjsVersion: '4.22.0',
    variant: 'cpu',
    device: 'CPU',
  },
  store: { path: '/tmp/p', metadata: 'sqlite', blobs: 'local' },
  startedAt: new Date(0).toISOString(),
};

describe('InfoResponse', () => {
  it('accepts a well-formed info payload', () => {
    expect(InfoResponse.parse(sample)).toEqual(sample);
  });

  it('names the field that is wrong', () => {
    const bad = { ...sample, tensorflow: { ...sample.tensorflow, variant: 'tpu' } };
    const result = InfoResponse.safeParse(bad);
    expect(result.success).toBe(false);
    expect(result.error?.issues[0]?.path).toEqual(['tensorflow', 'variant']);
  });
});
