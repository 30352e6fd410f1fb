/**
 * Loads `.ts` files through TypeScript's `transpileModule` (types are not checked), so a trial function
 * can live in a `.ts` file beside a notebook and worker processes can run Floe from its sources in
 * tests. Compiled Floe (dist/) never needs this for itself.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { createHash } from 'node:crypto';

let registered = false;

function typescriptPath(): string {
  try {
    return require.resolve('typescript');
  } catch {
    throw new Error(
      "loading a .ts trial module needs the 'typescript' package; install it or compile the module to .js",
    );
  }
}

export function registerTypeScript(): void {
  if (registered) return;
  registered = true;
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const ts = require(typescriptPath()) as typeof import('typescript');
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const Module = require('node:module') as {
    _extensions: Record<string, (m: { _compile(code: string, file: string): void }, file: string) => void>;
  };
  if (Module._extensions['.ts']) return; // a loader (ts-node, tsx) is already there
  Module._extensions['.ts'] = (module, filename) => {
    const source = fs.readFileSync(filename, 'utf8');
    const out = ts.transpileModule(source, {
      fileName: filename,
      compilerOptions: {
        module: ts.ModuleKind.CommonJS,
        target: ts.ScriptTarget.ES2022,
        esModuleInterop: true,
        inlineSourceMap: true,
      },
    });
    module._compile(out.outputText, filename);
  };
}

/**
 * A `--require` preload for child processes started from TypeScript sources: registers the same hook
 * before the child's entry module loads. Written once per content under the temp folder.
 */
export function typeScriptPreload(): string {
  // Transpiled output is cached by content hash, so most worker starts never load TypeScript itself.
  const code = `'use strict';
// Written by floe (search/ts-require.ts): lets this worker process load .ts modules.
const fs = require('fs');
const path = require('path');
const crypto = require('crypto');
const Module = require('module');
const cacheDir = ${JSON.stringify(path.join(os.tmpdir(), 'floe-ts-cache'))};
let ts;
if (!Module._extensions['.ts']) {
  Module._extensions['.ts'] = function (module, filename) {
    const source = fs.readFileSync(filename, 'utf8');
    const key = crypto.createHash('sha256').update(filename + '\\0' + source).digest('hex').slice(0, 32);
    const cached = path.join(cacheDir, key + '.js');
    let out;
    try {
      out = fs.readFileSync(cached, 'utf8');
    } catch {
      ts = ts || require(${JSON.stringify(typescriptPath())});
      out = ts.transpileModule(source, { fileName: filename, compilerOptions: {
        module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2022, esModuleInterop: true, inlineSourceMap: true } }).outputText;
      try {
        fs.mkdirSync(cacheDir, { recursive: true });
        const tmp = cached + '.' + process.pid + '.tmp';
        fs.writeFileSync(tmp, out);
        fs.renameSync(tmp, cached);
      } catch {}
    }
    module._compile(out, filename);
  };
}
`;
  const file = path.join(
    os.tmpdir(),
    `floe-ts-preload-${createHash('sha256').update(code).digest('hex').slice(0, 12)}.js`,
  );
  if (!fs.existsSync(file)) {
    const tmp = `${file}.${process.pid}.tmp`;
    fs.writeFileSync(tmp, code);
    fs.renameSync(tmp, file);
  }
  return file;
}

/** How to start a child process whose entry is `<dir>/<name>` (`.js` when compiled, `.ts` in sources). */
export function childEntry(dir: string, name: string, selfFile: string): { file: string; execArgv: string[] } {
  const ext = path.extname(selfFile) === '.ts' ? '.ts' : '.js';
  const file = path.join(dir, name + ext);
  return { file, execArgv: ext === '.ts' ? ['--require', typeScriptPreload()] : [] };
}
