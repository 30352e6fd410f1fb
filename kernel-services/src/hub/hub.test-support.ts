import * as fs from 'node:fs';
import * as http from 'node:http';
import * as os from 'node:os';
import * as path from 'node:path';
import { openProjectStore, type ProjectStore } from '../store';
import { startHub, type RunningHub } from './server';

/** One answer of the hub: status, headers, the raw bytes, and the body as JSON (parsed when asked for). */
export interface HubAnswer {
  status: number;
  headers: http.IncomingHttpHeaders;
  bytes: Buffer;
  /** The body parsed as JSON (throws when it is not JSON, e.g. an image). */
  readonly body: unknown;
}

/** `GET urlPath` from the hub on 127.0.0.1:`port`. */
export function getFromHub(port: number, urlPath: string): Promise<HubAnswer> {
  return new Promise((resolve, reject) => {
    http
      .get({ host: '127.0.0.1', port, path: urlPath }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const bytes = Buffer.concat(chunks);
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            bytes,
            get body() {
              return JSON.parse(bytes.toString('utf8')) as unknown;
            },
          });
        });
      })
      .on('error', reject);
  });
}

/** A seeded project store and the hub serving it, for the tests of one `describe` block. */
export interface SeededHub<S> {
  readonly store: ProjectStore;
  readonly hub: RunningHub;
  readonly port: number;
  /** What the seed function returned. */
  readonly seed: S;
  get(urlPath: string): Promise<HubAnswer>;
  /** Runs `beforeClose`, closes the hub and the store, and removes the folder. */
  close(): Promise<void>;
}

export interface SeededHubOptions<S> {
  /** How often the hub's `/v1/events` looks at the store's change counters (ms). */
  eventPollMs?: number;
  /** Runs first on `close` (e.g. stopping a model server the seed started). */
  beforeClose?: (seed: S) => Promise<void>;
}

/**
 * A fresh project store in a temporary folder, seeded by `seed`, and a hub over it on 127.0.0.1 (port
 * chosen by the system). Call it in `beforeAll` and `close()` in `afterAll`; a failed seed or start
 * closes what it opened.
 */
export async function startSeededHub<S>(
  seed: (store: ProjectStore) => Promise<S>,
  options: SeededHubOptions<S> = {},
): Promise<SeededHub<S>> {
  const home = fs.mkdtempSync(path.join(os.tmpdir(), 'floe-hub-test-'));
  const store = await openProjectStore({ home });
  const closeStore = async (): Promise<void> => {
    await store.close();
    fs.rmSync(home, { recursive: true, force: true });
  };
  let seeded: S;
  let hub: RunningHub;
  try {
    seeded = await seed(store);
    hub = await startHub({ port: 0 }, { store, ...(options.eventPollMs ? { eventPollMs: options.eventPollMs } : {}) });
  } catch (err) {
    await closeStore();
    throw err;
  }
  const port = Number(new URL(hub.address).port);
  return {
    store,
    hub,
    port,
    seed: seeded,
    get: (urlPath) => getFromHub(port, urlPath),
    async close() {
      try {
        await options.beforeClose?.(seeded);
      } finally {
        await hub.close();
        await closeStore();
      }
    },
  };
}
