import * as fs from 'node:fs';
import * as path from 'node:path';

/** The Floe checkout: `FLOE_ROOT` when set, else the folder that holds kernel-services/. */
export function floeRoot(): string {
  const fromEnv = process.env.FLOE_ROOT;
  if (fromEnv && fs.existsSync(path.join(fromEnv, 'kernel-services'))) return path.resolve(fromEnv);
  // dist/env/paths.js -> kernel-services/dist/env -> repository root is three levels up.
  return path.resolve(__dirname, '..', '..', '..');
}

/** The project store folder: `FLOE_HOME` when set, else `./floe-project` under the working directory. */
export function storePath(): string {
  return path.resolve(process.env.FLOE_HOME ?? 'floe-project');
}

/** The project's Python environment (JupyterLab, TensorFlow for the reference benchmark). */
export function venvPython(): string {
  return path.join(floeRoot(), '.venv', 'bin', 'python');
}
