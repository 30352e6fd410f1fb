/**
 * Runs a TypeScript file of this repository in a separate Node process (through ts-register.cjs),
 * for tests that need real concurrency or a real crash.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import * as path from 'node:path';

export const TS_REGISTER = path.join(__dirname, 'ts-register.cjs');

export interface TsProcessResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Starts `node -r ts-register.cjs <script> ...args`; the caller owns the child (kill it, or await `done`). */
export function spawnTs(
  script: string,
  args: string[] = [],
  options: { env?: NodeJS.ProcessEnv; cwd?: string } = {},
): { child: ChildProcess; done: Promise<TsProcessResult> } {
  const child = spawn(process.execPath, ['-r', TS_REGISTER, script, ...args], {
    cwd: options.cwd,
    env: { ...process.env, ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout!.setEncoding('utf8').on('data', (d: string) => (stdout += d));
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  const done = new Promise<TsProcessResult>((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
  return { child, done };
}

/** Runs a TypeScript script to completion; rejects with its stderr when it exits non-zero. */
export async function runTs(
  script: string,
  args: string[] = [],
  options: { env?: NodeJS.ProcessEnv; cwd?: string } = {},
): Promise<TsProcessResult> {
  const result = await spawnTs(script, args, options).done;
  if (result.code !== 0) {
    throw new Error(
      `${path.basename(script)} ${args.join(' ')} exited with ${result.code ?? result.signal}:\n${result.stderr}`,
    );
  }
  return result;
}

/** Resolves when `predicate(stdout so far)` holds, e.g. a child printing "ready". */
export function waitForOutput(
  child: ChildProcess,
  predicate: (stdout: string) => boolean,
  timeoutMs = 30_000,
): Promise<void> {
  return new Promise((resolve, reject) => {
    let seen = '';
    const timer = setTimeout(() => {
      cleanup();
      reject(new Error(`child did not print the expected output within ${timeoutMs} ms; got: ${seen}`));
    }, timeoutMs);
    const onData = (d: Buffer | string): void => {
      seen += d.toString();
      if (predicate(seen)) {
        cleanup();
        resolve();
      }
    };
    const onExit = (code: number | null): void => {
      cleanup();
      reject(new Error(`child exited (${code}) before the expected output; got: ${seen}`));
    };
    const cleanup = (): void => {
      clearTimeout(timer);
      child.stdout?.off('data', onData);
      child.off('exit', onExit);
    };
    child.stdout?.on('data', onData);
    child.once('exit', onExit);
  });
}
