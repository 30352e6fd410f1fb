import * as os from 'node:os';
import { DeploymentName, type DeploymentConfig, type ServedVersion } from '@floe/schema';
import type { ProjectStore } from '../store';
import { storedJson, storedTime } from '../store/portable';

/**
 * The store's record of a running model server: one `deployment` row per start under a deployment
 * name, kept fresh by a heartbeat (which also records the versions served and their states) and
 * marked stopped on close. The hub reads these rows, with the request log, to show deployments.
 * The heartbeat never blocks serving: it runs on its own timer and a failed write is only logged.
 */

export interface DeploymentOptions {
  /** Deployment name (default: the one model served, the models joined by '-', or `all-models`). */
  name?: string;
  /** How often the record is refreshed, ms (default 5000). */
  heartbeatMs?: number;
}

const DEFAULT_HEARTBEAT_MS = 5000;

/** The name a server gets when none is given: what it serves. */
export function defaultDeploymentName(models: readonly string[] | undefined): string {
  if (!models || models.length === 0) return 'all-models';
  return [...models].sort().join('-').slice(0, 128);
}

/** Throws a RangeError naming the deployment name when it is not a valid one. */
export function checkDeploymentName(name: string): void {
  const parsed = DeploymentName.safeParse(name);
  if (!parsed.success) throw new RangeError(`deployment name '${name}': ${parsed.error.issues[0]?.message}`);
}

export class DeploymentRecorder {
  private timer: NodeJS.Timeout | null = null;
  private beating: Promise<void> | null = null;
  private stopped = false;

  private constructor(
    private readonly store: ProjectStore,
    readonly id: number,
    readonly name: string,
    readonly heartbeatMs: number,
    private readonly served: () => ServedVersion[],
    private readonly log: (line: string) => void,
  ) {}

  /** Records a new start of deployment `name` and begins its heartbeat. */
  static async start(
    store: ProjectStore,
    opts: {
      name: string;
      url: string;
      config: Omit<DeploymentConfig, 'heartbeatMs'>;
      heartbeatMs?: number;
      served: () => ServedVersion[];
      log?: (line: string) => void;
    },
  ): Promise<DeploymentRecorder> {
    checkDeploymentName(opts.name);
    const heartbeatMs = opts.heartbeatMs ?? DEFAULT_HEARTBEAT_MS;
    if (!Number.isInteger(heartbeatMs) || heartbeatMs < 10)
      throw new RangeError(`deployment: heartbeatMs must be an integer >= 10, got ${heartbeatMs}`);
    const now = storedTime();
    const config: DeploymentConfig = { ...opts.config, heartbeatMs };
    const row = await store.db
      .insertInto('deployment')
      .values({
        name: opts.name,
        status: 'running',
        url: opts.url,
        host: os.hostname(),
        pid: process.pid,
        config: storedJson(config),
        served: storedJson(opts.served()),
        started_at: now,
        heartbeat_at: now,
        stopped_at: null,
      })
      .returning('id')
      .executeTakeFirstOrThrow();
    await store.audit('deployment.start', `deployment:${opts.name}`, { id: row.id, url: opts.url });
    const recorder = new DeploymentRecorder(
      store,
      row.id,
      opts.name,
      heartbeatMs,
      opts.served,
      opts.log ?? (() => undefined),
    );
    recorder.arm();
    return recorder;
  }

  private arm(): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.timer = null;
      void this.beat().finally(() => this.arm());
    }, this.heartbeatMs);
    this.timer.unref();
  }

  /** Refreshes the heartbeat and the served versions now (one write at a time). */
  beat(): Promise<void> {
    this.beating ??= this.store.db
      .updateTable('deployment')
      .set({ heartbeat_at: storedTime(), served: storedJson(this.served()) })
      .where('id', '=', this.id)
      .execute()
      .then(
        () => undefined,
        (err: Error) => this.log(`serving: deployment ${this.name}: heartbeat not written: ${err.message}`),
      )
      .finally(() => {
        this.beating = null;
      });
    return this.beating;
  }

  /** Marks the deployment stopped (idempotent). */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    await this.beating;
    const now = storedTime();
    await this.store.db
      .updateTable('deployment')
      // `served` keeps what the last heartbeat saw: by now the versions are unloaded.
      .set({ status: 'stopped', stopped_at: now, heartbeat_at: now })
      .where('id', '=', this.id)
      .execute();
    await this.store.audit('deployment.stop', `deployment:${this.name}`, { id: this.id });
  }
}
