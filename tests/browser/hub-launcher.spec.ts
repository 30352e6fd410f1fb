import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as os from 'node:os';
import * as path from 'node:path';
import { expect, test } from '@playwright/test';
import { repoRoot } from './lab';

// `floe-hub` is the console script (floe_jupyter/hub.py) that jupyter-server-proxy runs to start the hub.
const floeHub = path.join(repoRoot, '.venv', 'bin', 'floe-hub');

function envWithout(...names: string[]): NodeJS.ProcessEnv {
  const env = { ...process.env };
  for (const name of names) delete env[name];
  return env;
}

function getOverSocket(socket: string, urlPath: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    http
      .get({ socketPath: socket, path: urlPath }, (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (body += chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      })
      .on('error', reject);
  });
}

test('floe-hub names the missing checkout and what to do', () => {
  const empty = fs.mkdtempSync(path.join(os.tmpdir(), 'floe-no-checkout-'));
  try {
    const run = spawnSync(floeHub, ['--socket', path.join(empty, 'hub.sock')], {
      env: { ...process.env, FLOE_ROOT: empty },
      encoding: 'utf8',
    });
    expect(run.status).toBe(1);
    expect(run.stderr).toContain(`no Floe checkout at ${empty} (FLOE_ROOT)`);
    expect(run.stderr).toContain('Set FLOE_ROOT');
    expect(fs.existsSync(path.join(empty, 'hub.sock'))).toBe(false);
  } finally {
    fs.rmSync(empty, { recursive: true, force: true });
  }
});

test('floe-hub finds the checkout from its environment and serves /v1/info on the socket', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'floe-hub-launch-'));
  const socket = path.join(dir, 'hub.sock');
  // No FLOE_ROOT: the checkout is the parent of the Python environment (<repo>/.venv).
  const hub = spawn(floeHub, ['--socket', socket], {
    env: { ...envWithout('FLOE_ROOT'), FLOE_HOME: path.join(dir, 'store') },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  hub.stdout.on('data', (b: Buffer) => (output += b.toString()));
  hub.stderr.on('data', (b: Buffer) => (output += b.toString()));
  try {
    await expect.poll(() => output, { timeout: 30_000 }).toContain(`floe hub listening on unix:${socket}`);
    // The launcher replaced itself with Node (exec), so the proxy's signals reach the hub directly.
    expect(fs.readFileSync(`/proc/${hub.pid}/cmdline`, 'utf8').split('\0')).toContain('hub');
    const { status, body } = await getOverSocket(socket, '/v1/info');
    expect(status).toBe(200);
    const info = JSON.parse(body) as { apiVersion: number; store: { path: string }; tensorflow: { backend: string } };
    expect(info.apiVersion).toBe(1);
    expect(info.store.path).toBe(path.join(dir, 'store'));
    expect(info.tensorflow.backend).toBe('tensorflow');
  } finally {
    const exited = new Promise((resolve) => hub.once('exit', resolve));
    hub.kill('SIGTERM');
    await exited;
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
