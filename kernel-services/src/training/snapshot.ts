import * as fs from 'node:fs';
import * as path from 'node:path';
import type { CodeSnapshot } from '@floe/schema';
import { inTslab } from './display';

/**
 * Finding the code that runs a training run, to store a copy with the run. What is possible:
 * - a caller can always pass `{ path, content }` (or just `path`);
 * - a kernel started by Jupyter Server gets `JPY_SESSION_NAME` = the notebook's path, so the notebook
 *   file as last saved is found (unsaved edits in the browser are not on disk and cannot be seen);
 * - `FLOE_NOTEBOOK` names the notebook explicitly (e.g. for `nbconvert --execute`, which sets no session);
 * - outside a kernel, the process's main script (`process.argv[1]`).
 * A kernel without any of these (e.g. started by nbclient) records no snapshot rather than a guess.
 */

export interface SnapshotSource {
  source: CodeSnapshot['source'];
  path: string;
  content: Uint8Array;
}

/** Larger files are not snapshotted (a notebook with big embedded outputs); the run records why. */
export const MAX_SNAPSHOT_BYTES = 20 * 1024 * 1024;

function readIfFile(p: string): Uint8Array | null {
  try {
    const st = fs.statSync(p);
    if (!st.isFile() || st.size > MAX_SNAPSHOT_BYTES) return null;
    return fs.readFileSync(p);
  } catch {
    return null;
  }
}

export function findCodeSnapshot(given?: { path: string; content?: string | Uint8Array }): SnapshotSource | null {
  if (given) {
    const content = given.content ?? readIfFile(given.path);
    if (content === null)
      throw new RangeError(
        `snapshot: cannot read '${given.path}' (missing, not a file, or over ${MAX_SNAPSHOT_BYTES} bytes)`,
      );
    return {
      source: 'given',
      path: given.path,
      content: typeof content === 'string' ? Buffer.from(content, 'utf8') : content,
    };
  }
  for (const variable of ['FLOE_NOTEBOOK', 'JPY_SESSION_NAME']) {
    const p = process.env[variable];
    if (!p) continue;
    const resolved = path.resolve(p);
    const content = readIfFile(resolved);
    if (content) return { source: 'notebook', path: resolved, content };
  }
  if (inTslab()) return null;
  const main = process.argv[1];
  // Test runners and the floe CLI are not the user's code.
  if (main && !/node_modules|vitest|[\\/]bin[\\/]floe(\.js)?$/.test(main)) {
    const content = readIfFile(main);
    if (content) return { source: 'script', path: path.resolve(main), content };
  }
  return null;
}
