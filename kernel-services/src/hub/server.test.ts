import * as http from 'node:http';
import * as os from 'node:os';
import * as path from 'node:path';
import * as fs from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InfoResponse } from '@floe/schema';
import { startHub, type RunningHub } from './server';

function get(target: { socketPath: string } | { port: number }, urlPath: string, method = 'GET') {
  return new Promise<{ status: number; body: unknown }>((resolve, reject) => {
    const req = http.request({ ...target, host: '127.0.0.1', path: urlPath, method }, (res) => {
      let data = '';
      res.on('data', (c) => (data += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(data) }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('hub over a unix socket', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'floe-hub-'));
  const socketPath = path.join(dir, 'hub.sock');
  let hub: RunningHub;
  beforeAll(async () => {
    hub = await startHub({ socket: socketPath });
  });
  afterAll(async () => {
    await hub.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('answers GET /v1/info with a payload that matches the schema', async () => {
    const r = await get({ socketPath }, '/v1/info');
    expect(r.status).toBe(200);
    const info = InfoResponse.parse(r.body);
    expect(info.apiVersion).toBe(1);
    expect(info.tensorflow.backend).toBe('tensorflow');
  });

  it('keeps the socket private to its owner', () => {
    expect(fs.statSync(socketPath).mode & 0o777).toBe(0o600);
  });

  it('answers unknown paths with 404 and wrong methods with 405, as JSON errors', async () => {
    const a = await get({ socketPath }, '/v1/nope');
    expect(a.status).toBe(404);
    expect(a.body).toEqual({ error: 'no such endpoint: /v1/nope' });
    const b = await get({ socketPath }, '/v1/info', 'DELETE');
    expect(b.status).toBe(405);
  });
});

describe('hub on loopback', () => {
  it('binds to 127.0.0.1 on an ephemeral port', async () => {
    const hub = await startHub({ port: 0 });
    try {
      expect(hub.address).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      const port = Number(hub.address.split(':').pop());
      const r = await get({ port }, '/v1/info/');
      expect(r.status).toBe(200);
    } finally {
      await hub.close();
    }
  });
});
