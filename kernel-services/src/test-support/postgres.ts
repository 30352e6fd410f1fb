/**
 * A throwaway PostgreSQL cluster for tests: `initdb` in a temp folder, `postgres` on 127.0.0.1 with a
 * free port, sockets in that folder, durability switched off (fsync) because the data dies with the
 * test. Debian's server (package `postgresql`, installed by scripts/system-deps.sh) provides the
 * binaries; `FLOE_PG_BIN` may point at another bin folder.
 *
 * PostgreSQL refuses to run as root. When the tests run as root (containers, CI) the cluster runs as
 * the unprivileged `nobody` user: the temp folder is handed to it and `initdb`/`postgres` are spawned
 * with its uid/gid (Node's spawn drops supplementary groups too), so nothing else on the machine changes.
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { randomUUID } from 'node:crypto';
import { Client } from 'pg';
import { freePort } from './ports';
import { ServerProcess } from './server-process';

export interface PostgresServer {
  readonly port: number;
  readonly user: string;
  /** Connection URL of a database on this server (default: `postgres`). */
  url(database?: string): string;
  /** Creates an empty database with a fresh name and returns its URL. */
  createDatabase(prefix?: string): Promise<string>;
  stop(): Promise<void>;
}

/** The folder holding `initdb` and `postgres`, or undefined when PostgreSQL is not installed. */
export function findPostgresBin(): string | undefined {
  const candidates: string[] = [];
  if (process.env.FLOE_PG_BIN) candidates.push(process.env.FLOE_PG_BIN);
  try {
    const versions = fs
      .readdirSync('/usr/lib/postgresql')
      .filter((v) => /^\d+$/.test(v))
      .sort((a, b) => Number(b) - Number(a));
    candidates.push(...versions.map((v) => path.join('/usr/lib/postgresql', v, 'bin')));
  } catch {
    // not Debian's layout
  }
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) if (dir) candidates.push(dir);
  return candidates.find((dir) => fs.existsSync(path.join(dir, 'initdb')) && fs.existsSync(path.join(dir, 'postgres')));
}

/** uid/gid to run the server as: ourselves, or `nobody` when we are root. */
function serverIdentity(): { uid?: number; gid?: number; name: string } {
  if (typeof process.getuid !== 'function' || process.getuid() !== 0) return { name: os.userInfo().username };
  const passwd = fs.readFileSync('/etc/passwd', 'utf8').split('\n');
  const entry = passwd.map((line) => line.split(':')).find((f) => f[0] === 'nobody');
  if (!entry) throw new Error('running as root and there is no "nobody" user to run PostgreSQL as');
  return { uid: Number(entry[2]), gid: Number(entry[3]), name: 'nobody' };
}

function chownTree(dir: string, uid: number, gid: number): void {
  fs.chownSync(dir, uid, gid);
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, entry.name);
    if (entry.isDirectory()) chownTree(p, uid, gid);
    else fs.chownSync(p, uid, gid);
  }
}

export async function startPostgres(): Promise<PostgresServer> {
  const bin = findPostgresBin();
  if (!bin) {
    throw new Error(
      'PostgreSQL is not installed (no initdb/postgres found): run `bash scripts/system-deps.sh`, or set FLOE_PG_BIN',
    );
  }
  const who = serverIdentity();
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'floe-pg-'));
  fs.chmodSync(root, 0o700);
  if (who.uid !== undefined) chownTree(root, who.uid, who.gid!);
  const data = path.join(root, 'data');
  const user = 'floe';
  const asServer = { uid: who.uid, gid: who.gid, cwd: root, env: { ...process.env, LC_ALL: 'C', LANG: 'C' } };
  try {
    execFileSync(
      path.join(bin, 'initdb'),
      ['-D', data, '-U', user, '-A', 'trust', '-E', 'UTF8', '--locale=C', '--no-sync'],
      {
        ...asServer,
        stdio: 'pipe',
      },
    );
  } catch (err) {
    fs.rmSync(root, { recursive: true, force: true });
    const stderr = (err as { stderr?: Buffer }).stderr?.toString() ?? '';
    throw new Error(`initdb failed (as ${who.name}): ${stderr || (err as Error).message}`, { cause: err });
  }

  let server: ServerProcess | undefined;
  let port = 0;
  // A port picked as free can be taken before postgres binds it: try a few.
  for (let attempt = 0; attempt < 3 && !server; attempt++) {
    port = await freePort();
    const candidate = ServerProcess.start(
      'postgres',
      path.join(bin, 'postgres'),
      [
        '-D',
        data,
        '-p',
        String(port),
        '-h',
        '127.0.0.1',
        '-k',
        root,
        '-c',
        'fsync=off',
        '-c',
        'synchronous_commit=off',
        '-c',
        'full_page_writes=off',
        '-c',
        'max_connections=200',
        '-c',
        'shared_buffers=32MB',
      ],
      asServer,
    );
    if (await ready(port, user, candidate)) server = candidate;
    else await candidate.stop('SIGKILL');
    if (!server && !/could not bind|already in use/i.test(candidate.log())) {
      fs.rmSync(root, { recursive: true, force: true });
      throw new Error(`PostgreSQL did not start:\n${candidate.log()}`);
    }
  }
  if (!server) {
    fs.rmSync(root, { recursive: true, force: true });
    throw new Error('PostgreSQL could not bind a free port after 3 tries');
  }
  const running = server;
  const url = (database = 'postgres'): string => `postgres://${user}@127.0.0.1:${port}/${database}`;
  return {
    port,
    user,
    url,
    async createDatabase(prefix = 'floe_test') {
      const name = `${prefix}_${randomUUID().replace(/-/g, '').slice(0, 12)}`;
      const client = new Client({ connectionString: url() });
      await client.connect();
      try {
        await client.query(`create database "${name}"`);
      } finally {
        await client.end();
      }
      return url(name);
    },
    async stop() {
      // SIGINT is PostgreSQL's "fast" shutdown: roll back open transactions, close sessions, exit.
      await running.stop('SIGINT');
      fs.rmSync(root, { recursive: true, force: true });
    },
  };
}

async function ready(port: number, user: string, server: ServerProcess): Promise<boolean> {
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    if (server.hasExited) return false;
    const client = new Client({ host: '127.0.0.1', port, user, database: 'postgres', connectionTimeoutMillis: 1000 });
    try {
      await client.connect();
      await client.end();
      return true;
    } catch {
      await client.end().catch(() => undefined);
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  return false;
}
