/**
 * Entry of a local worker process (forked by LocalProcessExecutor): runs one trial attempt at a time
 * and talks to the driver over the IPC channel — assignment in; started, metrics, alive and the
 * outcome out; stop signals in.
 */
import { loadTrialFunction, startTrial } from '../trial';
import type { TrialAssignment } from './types';

export type ToWorker =
  | { type: 'run'; assignment: TrialAssignment }
  | { type: 'stop'; trialId: number; attempt: number; reason: string }
  | { type: 'exit' };

export type FromWorker =
  | { type: 'ready'; pid: number }
  | { type: 'started'; trialId: number; attempt: number }
  | { type: 'metric'; trialId: number; attempt: number; step: number; value: number }
  | { type: 'alive'; trialId: number; attempt: number }
  | { type: 'ended'; trialId: number; attempt: number; outcome: import('../trial').TrialOutcome };

function send(msg: FromWorker): void {
  process.send?.(msg);
}

function main(): void {
  if (!process.send) {
    process.stderr.write('floe search worker: start me through LocalProcessExecutor (needs an IPC channel)\n');
    process.exit(2);
  }
  const heartbeatMs = Number(process.env.FLOE_WORKER_HEARTBEAT_MS ?? 1000);
  let current: { trialId: number; attempt: number; stop(reason: string): void } | undefined;

  process.on('message', (msg: ToWorker) => {
    if (msg.type === 'exit') {
      current?.stop('worker exiting');
      process.disconnect?.();
      setImmediate(() => process.exit(0));
      return;
    }
    if (msg.type === 'stop') {
      if (current && current.trialId === msg.trialId && current.attempt === msg.attempt) current.stop(msg.reason);
      return;
    }
    const a = msg.assignment;
    const key = { trialId: a.trialId, attempt: a.attempt };
    send({ type: 'started', ...key });
    let fn;
    try {
      fn = loadTrialFunction(a.trial);
    } catch (err) {
      send({
        type: 'ended',
        ...key,
        outcome: { kind: 'failed', error: (err as Error).message, crashed: false, busyMs: 0 },
      });
      return;
    }
    const run = startTrial(
      fn,
      a.params,
      { searchId: a.searchId, number: a.number, attempt: a.attempt, seed: a.seed, budget: a.budget },
      {
        metric: (step, value) => send({ type: 'metric', ...key, step, value }),
      },
    );
    current = { ...key, stop: run.stop };
    const alive = setInterval(() => send({ type: 'alive', ...key }), heartbeatMs);
    void run.outcome.then((outcome) => {
      clearInterval(alive);
      current = undefined;
      send({ type: 'ended', ...key, outcome });
    });
  });
  // The driver going away ends the worker (no orphans).
  process.on('disconnect', () => process.exit(0));
  send({ type: 'ready', pid: process.pid });
}

main();
