/**
 * Entry of a local worker process (forked by LocalProcessExecutor): runs one trial attempt at a time
 * and talks to the driver over the IPC channel — assignments in; started, metrics, alive and the
 * outcome out; stop signals in.
 *
 * A worker may hold one assignment queued behind the running one (the pool's lookahead): it starts it
 * the moment the running attempt ends, without waiting for a round trip to the driver. The pool can
 * take a queued assignment back (`unqueue`) to give it to a worker that went idle.
 */
import { loadTrialFunction, startTrial } from '../trial';
import { stoppedBeforeStart, type TrialAssignment } from './types';

export type ToWorker =
  | { type: 'run'; assignment: TrialAssignment }
  | { type: 'stop'; trialId: number; attempt: number; reason: string }
  | { type: 'unqueue'; trialId: number; attempt: number }
  | { type: 'exit' };

export type FromWorker =
  | { type: 'ready'; pid: number }
  | { type: 'started'; trialId: number; attempt: number; waitedMs?: number }
  | { type: 'metric'; trialId: number; attempt: number; step: number; value: number }
  | { type: 'alive'; trialId: number; attempt: number }
  | { type: 'ended'; trialId: number; attempt: number; outcome: import('../trial').TrialOutcome }
  /** Answer to `unqueue`: `taken` is false when the attempt had already started (or was stopped). */
  | { type: 'unqueued'; trialId: number; attempt: number; taken: boolean };

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
  const queued: TrialAssignment[] = [];
  /** When this worker's previous attempt ended (its own clock): the driver reports the idle gaps. */
  let lastEndedAt: number | undefined;
  const isKey = (a: { trialId: number; attempt: number }, k: { trialId: number; attempt: number }): boolean =>
    a.trialId === k.trialId && a.attempt === k.attempt;

  function runNext(): void {
    const a = queued.shift();
    if (!a) return;
    const key = { trialId: a.trialId, attempt: a.attempt };
    send({
      type: 'started',
      ...key,
      ...(lastEndedAt !== undefined ? { waitedMs: performance.now() - lastEndedAt } : {}),
    });
    let fn;
    try {
      fn = loadTrialFunction(a.trial);
    } catch (err) {
      send({
        type: 'ended',
        ...key,
        outcome: { kind: 'failed', error: (err as Error).message, crashed: false, busyMs: 0 },
      });
      runNext();
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
      lastEndedAt = performance.now();
      send({ type: 'ended', ...key, outcome });
      runNext();
    });
  }

  process.on('message', (msg: ToWorker) => {
    if (msg.type === 'exit') {
      current?.stop('worker exiting');
      process.disconnect?.();
      setImmediate(() => process.exit(0));
      return;
    }
    if (msg.type === 'stop') {
      if (current && isKey(current, msg)) return current.stop(msg.reason);
      const i = queued.findIndex((a) => isKey(a, msg));
      if (i >= 0) {
        queued.splice(i, 1);
        send({ type: 'ended', trialId: msg.trialId, attempt: msg.attempt, outcome: stoppedBeforeStart(msg.reason) });
      }
      return;
    }
    if (msg.type === 'unqueue') {
      const i = queued.findIndex((a) => isKey(a, msg));
      if (i >= 0) queued.splice(i, 1);
      send({ type: 'unqueued', trialId: msg.trialId, attempt: msg.attempt, taken: i >= 0 });
      return;
    }
    queued.push(msg.assignment);
    if (!current) runNext();
  });
  // The driver going away ends the worker (no orphans).
  process.on('disconnect', () => process.exit(0));
  send({ type: 'ready', pid: process.pid });
}

main();
