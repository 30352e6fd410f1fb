/**
 * Project stores for tests, on either backend pair, so a domain's tests can run the same cases on
 * {SQLite + local folder} and {PostgreSQL + S3}:
 *
 * ```ts
 * const backends = storeBackends();            // in a test file
 * beforeAll(() => backends.start(), 180_000);   // starts PostgreSQL + SeaweedFS once for the file
 * afterAll(() => backends.stop());
 * for (const kind of STORE_BACKEND_KINDS) {
 *   it(`… on ${kind}`, async () => {
 *     const store = await openProjectStore(await backends.freshOptions(kind));
 *     …
 *   });
 * }
 * ```
 * Each `freshOptions` call gives an empty, isolated store (its own temp home, database and S3 prefix).
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { StoreOptions } from '../store';
import { startPostgres, type PostgresServer } from './postgres';
import { startS3Server, type S3Server } from './s3';

export const STORE_BACKEND_KINDS = ['sqlite+local', 'postgres+s3'] as const;
export type StoreBackendKind = (typeof STORE_BACKEND_KINDS)[number];

export interface StoreBackends {
  /** Starts the servers the scale-out pair needs (idempotent). */
  start(): Promise<void>;
  freshOptions(kind: StoreBackendKind): Promise<StoreOptions>;
  /** Stops the servers and removes every temp home made. */
  stop(): Promise<void>;
  readonly postgres: PostgresServer | undefined;
  readonly s3: S3Server | undefined;
}

export function storeBackends(): StoreBackends {
  let pg: PostgresServer | undefined;
  let s3: S3Server | undefined;
  let starting: Promise<void> | undefined;
  const homes: string[] = [];
  const freshHome = (): string => {
    const home = fs.mkdtempSync(path.join(os.tmpdir(), 'floe-store-'));
    homes.push(home);
    return home;
  };
  return {
    get postgres() {
      return pg;
    },
    get s3() {
      return s3;
    },
    start() {
      starting ??= Promise.all([startPostgres(), startS3Server()]).then(([p, s]) => {
        pg = p;
        s3 = s;
      });
      return starting;
    },
    async freshOptions(kind) {
      if (kind === 'sqlite+local') return { home: freshHome() };
      if (!pg || !s3)
        throw new Error('call storeBackends().start() (in beforeAll) before asking for a postgres+s3 store');
      return { home: freshHome(), metadataUrl: await pg.createDatabase(), blobUrl: s3.freshUrl(), s3: s3.options };
    },
    async stop() {
      await starting?.catch(() => undefined);
      await Promise.all([pg?.stop(), s3?.stop()]);
      pg = undefined;
      s3 = undefined;
      starting = undefined;
      for (const home of homes.splice(0)) fs.rmSync(home, { recursive: true, force: true });
    },
  };
}
