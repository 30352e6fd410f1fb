/**
 * A server child process owned by a test: output kept for error messages, stopped with a signal
 * (then SIGKILL), and killed when the test process exits even if the test forgot.
 */
import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';

const live = new Set<ChildProcess>();
let exitHookInstalled = false;

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.once('exit', () => {
    for (const child of live) child.kill('SIGKILL');
  });
}

export class ServerProcess {
  private output = '';
  readonly exited: Promise<number | null>;
  private exitCode: number | null | undefined;

  constructor(
    readonly name: string,
    readonly child: ChildProcess,
  ) {
    installExitHook();
    live.add(child);
    const keep = (d: Buffer): void => {
      this.output = (this.output + d.toString()).slice(-20_000);
    };
    child.stdout?.on('data', keep);
    child.stderr?.on('data', keep);
    this.exited = new Promise((resolve) => {
      child.once('exit', (code) => {
        live.delete(child);
        this.exitCode = code;
        resolve(code);
      });
      child.once('error', (err) => {
        this.output += `\n${err.message}`;
        live.delete(child);
        this.exitCode = -1;
        resolve(-1);
      });
    });
  }

  static start(name: string, command: string, args: string[], options: SpawnOptions = {}): ServerProcess {
    return new ServerProcess(name, spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'], ...options }));
  }

  get hasExited(): boolean {
    return this.exitCode !== undefined;
  }

  /** The last lines the server printed, for error messages. */
  log(): string {
    return this.output;
  }

  /** Sends `signal`, waits up to `graceMs`, then SIGKILL. */
  async stop(signal: NodeJS.Signals = 'SIGTERM', graceMs = 10_000): Promise<void> {
    if (this.hasExited) return;
    this.child.kill(signal);
    const timer = new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), graceMs).unref());
    if ((await Promise.race([this.exited, timer])) === 'timeout') {
      this.child.kill('SIGKILL');
      await this.exited;
    }
  }
}
