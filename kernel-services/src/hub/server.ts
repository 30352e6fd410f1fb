import * as fs from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { API_VERSION } from '@floe/schema';
import { info } from '../info';

/**
 * The hub: a thin HTTP adapter over the floe library, reached by the browser only through
 * jupyter-server-proxy (which does Jupyter's auth). It listens on a unix socket or on loopback.
 */
export type HubListen = { socket: string } | { port: number; host?: string };

type Handler = (req: http.IncomingMessage, url: URL) => Promise<unknown> | unknown;

export class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

const routes: Record<string, Record<string, Handler>> = {
  [`/v${API_VERSION}/info`]: { GET: () => info() },
};

function send(res: http.ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'cache-control': 'no-store',
    'x-content-type-options': 'nosniff',
    'content-length': Buffer.byteLength(text),
  });
  res.end(text);
}

async function handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
  const url = new URL(req.url ?? '/', 'http://hub.invalid');
  const route = routes[url.pathname.replace(/\/+$/, '')];
  try {
    if (!route) throw new HttpError(404, `no such endpoint: ${url.pathname}`);
    const handler = route[req.method ?? 'GET'];
    if (!handler) {
      res.setHeader('allow', Object.keys(route).join(', '));
      throw new HttpError(405, `${req.method} is not allowed on ${url.pathname}`);
    }
    send(res, 200, await handler(req, url));
  } catch (err) {
    if (err instanceof HttpError) send(res, err.status, { error: err.message });
    else send(res, 500, { error: `internal error: ${(err as Error).message}` });
  }
}

export interface RunningHub {
  server: http.Server;
  /** `http://127.0.0.1:PORT` or `unix:PATH`. */
  address: string;
  close(): Promise<void>;
}

export async function startHub(listen: HubListen): Promise<RunningHub> {
  const server = http.createServer((req, res) => void handle(req, res));
  if ('socket' in listen) {
    // A stale socket file from a killed hub would make listen() fail with EADDRINUSE.
    if (fs.existsSync(listen.socket)) fs.unlinkSync(listen.socket);
    await new Promise<void>((resolve, reject) => server.once('error', reject).listen(listen.socket, resolve));
    fs.chmodSync(listen.socket, 0o600);
  } else {
    const host = listen.host ?? '127.0.0.1';
    await new Promise<void>((resolve, reject) => server.once('error', reject).listen(listen.port, host, resolve));
  }
  const addr = server.address();
  const address =
    typeof addr === 'string' ? `unix:${addr}` : `http://${(addr as AddressInfo).address}:${(addr as AddressInfo).port}`;
  return {
    server,
    address,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
