/**
 * Records searches in the experiment tracker: the search is a parent run, each trial a child run with
 * its params, its curve (one epoch metric per report), its final metric and why it ended — so trials
 * show up with every other run in the experiments panel and `floe runs`.
 */
import { storedJson, storedTime, type ProjectStore } from '../store';
import { ExperimentTracker, type ActiveRun } from '../tracking';
import type { SearchConfig } from './config';
import type { SearchRecorder } from './driver';
import type { TrialRecord } from './repository';

export class TrackerSearchRecorder implements SearchRecorder {
  private readonly tracker: ExperimentTracker;
  private readonly parents = new Map<number, ActiveRun>();

  constructor(
    private readonly store: ProjectStore,
    /** Experiment the runs go to; default: the search's name. */
    private readonly experiment?: string,
  ) {
    this.tracker = new ExperimentTracker(store);
  }

  private experimentOf(config: SearchConfig): string {
    return this.experiment ?? config.name;
  }

  async searchStarted(search: { id: number; config: SearchConfig }): Promise<number | null> {
    const c = search.config;
    const run = await this.tracker.startRun({
      experiment: this.experimentOf(c),
      name: `${c.kind ?? 'search'}-${search.id}`,
      params: {
        optimizer: c.optimizer,
        numTrials: c.numTrials,
        mode: c.mode ?? 'async',
        earlyStopping: c.earlyStopping ?? null,
        space: c.space,
        seed: c.seed ?? 0,
      },
      tags: { kind: c.kind ?? 'search', search_id: String(search.id), metric: c.metric, direction: c.direction },
    });
    this.parents.set(search.id, run);
    return run.id;
  }

  /**
   * One child run per ended trial, written in one transaction together with the trial's link to it
   * (`search_trial.run_id`), from the record the driver hands over: nothing here reads the search.
   */
  async trialEnded(
    search: { id: number; config: SearchConfig; runId: number | null },
    trial: TrialRecord,
  ): Promise<number | null> {
    const c = search.config;
    const status =
      trial.status === 'error'
        ? 'failed'
        : trial.status === 'stopped' || trial.status === 'cancelled'
          ? 'interrupted'
          : 'finished';
    return this.tracker.recordEndedRun(
      {
        experiment: this.experimentOf(c),
        name: `${c.kind ?? 'search'}-${search.id}-trial-${trial.number}`,
        params: trial.params,
        parentRunId: search.runId,
        tags: {
          kind: `${c.kind ?? 'search'}_trial`,
          search_id: String(search.id),
          trial: String(trial.number),
          status: trial.status,
          ...(trial.stopReason ? { stop_reason: trial.stopReason } : {}),
          ...(trial.worker ? { worker: trial.worker } : {}),
        },
        status,
        error:
          status === 'failed'
            ? (trial.error ?? 'trial failed')
            : status === 'interrupted'
              ? (trial.stopReason ?? 'stopped')
              : null,
        epochs: trial.curve.map((v) => ({ [c.metric]: v })),
        final: trial.metric !== null ? { [c.metric]: trial.metric } : {},
        startedAt: trial.startedAt,
        endedAt: trial.finishedAt,
      },
      async (trx, runId) => {
        if (trial.id >= 0)
          await trx.updateTable('search_trial').set({ run_id: runId }).where('id', '=', trial.id).execute();
      },
    );
  }

  async searchEnded(
    search: { id: number; config: SearchConfig; runId: number | null },
    status: string,
    best: TrialRecord | null,
  ): Promise<void> {
    const run = this.parents.get(search.id);
    const c = search.config;
    if (run) {
      if (best?.metric != null) await run.log('final', 0, { [c.metric]: best.metric, best_trial: best.number });
      if (status === 'failed') await run.fail('every trial failed');
      else if (status === 'stopped') await run.interrupt('search stopped');
      else await run.finish();
      this.parents.delete(search.id);
      return;
    }
    if (search.runId === null) return;
    // The parent run was started by an earlier driver (this one resumed the search).
    await this.store.db
      .updateTable('run')
      .set({
        status: status === 'failed' ? 'failed' : status === 'stopped' ? 'interrupted' : 'finished',
        ended_at: storedTime(),
        ...(best?.metric != null ? { summary: storedJson({ [c.metric]: best.metric, best_trial: best.number }) } : {}),
      })
      .where('id', '=', search.runId)
      .execute();
  }
}
