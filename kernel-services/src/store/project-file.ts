/**
 * The project file, `<home>/floe-project.json`: which backends a project folder belongs to (metadata
 * on SQLite or PostgreSQL, blobs and datasets on a local folder or S3) and its project id. Written
 * when a project is first opened, checked on every later open: opening the folder with another
 * configuration (a missing FLOE_METADATA_URL, another bucket) is an error naming both, instead of a
 * new, empty store quietly created beside the real one. No credentials are recorded.
 */
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { isPostgresUrl, sqlitePathFrom } from './metadata';

export const PROJECT_FILE = 'floe-project.json';
const FORMAT = 'floe-project/1';

export type MetadataBackend =
  { engine: 'sqlite'; path: string } | { engine: 'postgres'; host: string; port: number; database: string };
export type BlobBackend =
  { kind: 'local'; path: string } | { kind: 's3'; bucket: string; prefix: string; endpoint: string | null };

export interface ProjectBackends {
  metadata: MetadataBackend;
  blobs: BlobBackend;
}

export interface ProjectFile extends ProjectBackends {
  format: string;
  projectId: string;
  recordedAt: string;
}

/** The project folder's recorded backends differ from the ones it is being opened with. */
export class ProjectBackendMismatchError extends Error {
  override readonly name = 'ProjectBackendMismatchError';
}

/** Paths inside the project folder are recorded relative to it, so the folder can move. */
function relativeToHome(home: string, p: string): string {
  const rel = path.relative(home, p);
  return rel && !rel.startsWith('..') && !path.isAbsolute(rel) ? rel : p;
}

/** The backends an open resolves to (from the same URLs openProjectStore uses). */
export function backendsFor(
  home: string,
  metadataUrl: string,
  blobUrl: string,
  s3: { bucket: string; prefix: string; endpoint: string | undefined } | undefined,
): ProjectBackends {
  let metadata: MetadataBackend;
  if (isPostgresUrl(metadataUrl)) {
    const u = new URL(metadataUrl);
    metadata = {
      engine: 'postgres',
      // libpq's ?host= (a socket folder) wins over the URL's host, as pg reads it.
      host: (u.searchParams.get('host') ?? decodeURIComponent(u.hostname)).toLowerCase() || 'localhost',
      port: Number(u.port || 5432),
      database: decodeURIComponent(u.pathname.replace(/^\//, '')),
    };
  } else {
    metadata = { engine: 'sqlite', path: relativeToHome(home, sqlitePathFrom(metadataUrl, home)) };
  }
  const blobs: BlobBackend = s3
    ? { kind: 's3', bucket: s3.bucket, prefix: s3.prefix, endpoint: s3.endpoint ?? null }
    : {
        kind: 'local',
        path: relativeToHome(
          home,
          blobUrl.startsWith('file:') ? sqlitePathFrom(blobUrl, home) : path.resolve(home, blobUrl),
        ),
      };
  return { metadata, blobs };
}

export function describeMetadata(m: MetadataBackend, home: string): string {
  return m.engine === 'sqlite'
    ? `SQLite ${path.resolve(home, m.path)}`
    : `PostgreSQL database '${m.database}' on ${m.host}:${m.port}`;
}

export function describeBlobs(b: BlobBackend, home: string): string {
  return b.kind === 'local'
    ? `the local folder ${path.resolve(home, b.path)}`
    : `s3://${b.bucket}/${b.prefix}${b.endpoint ? ` at ${b.endpoint}` : ''}`;
}

/** Whether two recordings name the same store (an S3 endpoint may be spelled differently: not compared). */
function sameMetadata(a: MetadataBackend, b: MetadataBackend, home: string): boolean {
  if (a.engine === 'sqlite' && b.engine === 'sqlite') return path.resolve(home, a.path) === path.resolve(home, b.path);
  if (a.engine === 'postgres' && b.engine === 'postgres')
    return a.host === b.host && a.port === b.port && a.database === b.database;
  return false;
}

function sameBlobs(a: BlobBackend, b: BlobBackend, home: string): boolean {
  if (a.kind === 'local' && b.kind === 'local') return path.resolve(home, a.path) === path.resolve(home, b.path);
  if (a.kind === 's3' && b.kind === 's3') return a.bucket === b.bucket && a.prefix === b.prefix;
  return false;
}

/** The recorded project file, or undefined when the folder has none yet. */
export function readProjectFile(home: string): ProjectFile | undefined {
  const file = path.join(home, PROJECT_FILE);
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  let parsed: Partial<ProjectFile>;
  try {
    parsed = JSON.parse(text) as Partial<ProjectFile>;
  } catch (err) {
    throw new ProjectBackendMismatchError(`${file} is not valid JSON (${(err as Error).message}); fix or remove it`);
  }
  const m = parsed.metadata as Partial<MetadataBackend> | undefined;
  const b = parsed.blobs as Partial<BlobBackend> | undefined;
  if (
    parsed.format !== FORMAT ||
    typeof parsed.projectId !== 'string' ||
    !m ||
    (m.engine !== 'sqlite' && m.engine !== 'postgres') ||
    !b ||
    (b.kind !== 'local' && b.kind !== 's3')
  ) {
    throw new ProjectBackendMismatchError(
      `${file} is not a Floe project file (expected format ${FORMAT} with projectId, metadata and blobs); fix or remove it`,
    );
  }
  return parsed as ProjectFile;
}

/**
 * Refuses to open `home` with backends other than the recorded ones, and a recorded SQLite file that
 * has gone (opening it would create an empty one). Called before anything is opened or created.
 */
export function checkProjectBackends(home: string, recorded: ProjectFile, wanted: ProjectBackends): void {
  const file = path.join(home, PROJECT_FILE);
  const problems: string[] = [];
  if (!sameMetadata(recorded.metadata, wanted.metadata, home)) {
    problems.push(
      `its metadata is on ${describeMetadata(recorded.metadata, home)}, but this open uses ${describeMetadata(wanted.metadata, home)}`,
    );
  }
  if (!sameBlobs(recorded.blobs, wanted.blobs, home)) {
    problems.push(
      `its blobs and datasets are in ${describeBlobs(recorded.blobs, home)}, but this open uses ${describeBlobs(wanted.blobs, home)}`,
    );
  }
  if (problems.length > 0) {
    throw new ProjectBackendMismatchError(
      `project ${recorded.projectId} in ${home} (${PROJECT_FILE}): ${problems.join('; ')}. ` +
        `Open it with the recorded backends (FLOE_METADATA_URL, FLOE_BLOB_URL or the store options; see docs/storage.md), ` +
        `or, to re-point the folder deliberately, edit or remove ${file}`,
    );
  }
  if (recorded.metadata.engine === 'sqlite') {
    const db = path.resolve(home, recorded.metadata.path);
    if (!fs.existsSync(db)) {
      throw new ProjectBackendMismatchError(
        `project ${recorded.projectId} in ${home} (${PROJECT_FILE}): its metadata database ${db} is missing; ` +
          `restore it, or remove ${file} to start an empty project here`,
      );
    }
  }
}

/** After the metadata opened: the database must hold the recorded project, not another (or a new, empty) one. */
export function checkProjectId(
  home: string,
  recorded: ProjectFile,
  projectId: string | undefined,
  where: string,
): void {
  if (projectId === recorded.projectId) return;
  throw new ProjectBackendMismatchError(
    `project folder ${home} (${PROJECT_FILE}) belongs to project ${recorded.projectId}, but the metadata database ${where} ` +
      `holds project ${projectId ?? '(none)'}; it is another project's database, or a new empty one`,
  );
}

/** Records the backends (temp file + rename: readers see the old file or the whole new one). */
export function writeProjectFile(home: string, backends: ProjectBackends, projectId: string): void {
  fs.mkdirSync(home, { recursive: true });
  const content: ProjectFile = { format: FORMAT, projectId, ...backends, recordedAt: new Date().toISOString() };
  const file = path.join(home, PROJECT_FILE);
  const tmp = `${file}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`;
  fs.writeFileSync(tmp, `${JSON.stringify(content, null, 2)}\n`);
  fs.renameSync(tmp, file);
}
