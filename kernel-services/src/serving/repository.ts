import type { ModelStatusResponse, ModelVersion, ServableState } from '@floe/schema';
import { loadReferenceStatistics } from '../monitoring/reference';
import { ModelRegistry } from '../registry/registry';
import type { ProjectStore } from '../store';
import { loadModelFromBlobs } from '../tracking/model-io';
import { notFound } from './errors';
import { Servable } from './servable';
import { servingSignature } from './signature';

/**
 * The models a server serves, kept in step with the model registry: it polls the registry's
 * version and alias tables (two small queries), loads what a new version or an alias move asks for,
 * and only then points requests at it. The version it replaces stops taking requests and is disposed
 * when its last one is done, so a swap never fails a request. A version that fails to load is
 * reported (state END with the error) while the server keeps serving what it had.
 */

export type VersionPolicy = 'latest' | 'all';

export interface ServedModelsOptions {
  /** Model names to serve; undefined: every model in the registry (new names are picked up). */
  models?: string[];
  /** `latest` (default): the latest version plus every version an alias points to; `all`: every version. */
  versionPolicy?: VersionPolicy;
  /** How often to look at the registry, ms (default 2000; 0: only at start and on `sync()`). */
  pollIntervalMs?: number;
  /** Progress lines: loads, swaps, unloads, failures. */
  log?: (line: string) => void;
  /** Awaited after a version loads and before it becomes AVAILABLE (e.g. to load it where it will run); a rejection fails the load. */
  prepare?: (servable: Servable) => Promise<void>;
  /** Called when a version becomes servable (e.g. to set up its batcher). */
  onAvailable?: (servable: Servable) => void;
  /** Called when a version stops taking requests. */
  onRetired?: (servable: Servable) => void;
}

/** How a request names the version: the latest, a number, or a label (registry alias). */
export type VersionSelector =
  { kind: 'latest' } | { kind: 'version'; version: number } | { kind: 'label'; label: string };

export function describeRequest(name: string, sel: VersionSelector): string {
  return sel.kind === 'latest'
    ? `Latest(${name})`
    : sel.kind === 'version'
      ? `Specific(${name}, ${sel.version})`
      : `Label(${name}, ${sel.label})`;
}

interface ManagedVersion {
  version: number;
  blobPrefix: string;
  state: ServableState;
  error: string | null;
  servable: Servable | null;
}

interface ManagedModel {
  name: string;
  versions: Map<number, ManagedVersion>;
  /** Labels as requests see them: an alias moves here only once its target is AVAILABLE. */
  labels: Map<string, number>;
}

interface RegistrySnapshot {
  /** name → version → blob prefix */
  versions: Map<string, Map<number, string>>;
  /** name → alias → version */
  aliases: Map<string, Map<string, number>>;
}

export class ServedModels {
  private readonly models = new Map<string, ManagedModel>();
  private snapshot: RegistrySnapshot = { versions: new Map(), aliases: new Map() };
  private readonly registry: ModelRegistry;
  private readonly policy: VersionPolicy;
  private timer: NodeJS.Timeout | null = null;
  private syncing: Promise<void> | null = null;
  private readonly loads = new Set<Promise<void>>();
  private closed = false;
  private readonly log: (line: string) => void;

  constructor(
    readonly store: ProjectStore,
    private readonly options: ServedModelsOptions = {},
  ) {
    this.registry = new ModelRegistry(store);
    this.policy = options.versionPolicy ?? 'latest';
    this.log = options.log ?? (() => undefined);
  }

  /** First look at the registry; resolves once every wanted version has loaded or failed. */
  async start(): Promise<void> {
    await this.sync();
    await this.settled();
    const every = this.options.pollIntervalMs ?? 2000;
    if (every > 0 && !this.closed) {
      const tick = (): void => {
        this.timer = setTimeout(() => {
          void this.sync()
            .catch((err: Error) => this.log(`serving: registry poll failed: ${err.message}`))
            .finally(() => {
              if (!this.closed) tick();
            });
        }, every);
        this.timer.unref();
      };
      tick();
    }
  }

  /** Waits for the loads in progress. */
  async settled(): Promise<void> {
    while (this.loads.size > 0) await Promise.all([...this.loads]);
  }

  /** Reads the registry and starts whatever loads and unloads it implies (one sync at a time). */
  sync(): Promise<void> {
    this.syncing ??= this.readRegistry()
      .then((snap) => {
        this.snapshot = snap;
        this.reconcile();
      })
      .finally(() => {
        this.syncing = null;
      });
    return this.syncing;
  }

  private async readRegistry(): Promise<RegistrySnapshot> {
    let vq = this.store.db.selectFrom('model_version').select(['name', 'version', 'blob_prefix']);
    let aq = this.store.db.selectFrom('model_alias').select(['name', 'alias', 'version']);
    if (this.options.models) {
      vq = vq.where('name', 'in', this.options.models);
      aq = aq.where('name', 'in', this.options.models);
    }
    const [vrows, arows] = await Promise.all([vq.execute(), aq.execute()]);
    const versions = new Map<string, Map<number, string>>();
    for (const r of vrows) {
      if (!versions.has(r.name)) versions.set(r.name, new Map());
      versions.get(r.name)!.set(Number(r.version), r.blob_prefix);
    }
    const aliases = new Map<string, Map<string, number>>();
    for (const r of arows) {
      if (!aliases.has(r.name)) aliases.set(r.name, new Map());
      aliases.get(r.name)!.set(r.alias, Number(r.version));
    }
    return { versions, aliases };
  }

  /** Versions of `name` the policy wants loaded, from the last registry snapshot. */
  private wanted(name: string): Set<number> {
    const versions = this.snapshot.versions.get(name);
    if (!versions || versions.size === 0) return new Set();
    if (this.policy === 'all') return new Set(versions.keys());
    const want = new Set([Math.max(...versions.keys())]);
    for (const v of this.snapshot.aliases.get(name)?.values() ?? []) if (versions.has(v)) want.add(v);
    return want;
  }

  private reconcile(): void {
    if (this.closed) return;
    for (const name of this.snapshot.versions.keys()) {
      if (!this.models.has(name)) this.models.set(name, { name, versions: new Map(), labels: new Map() });
    }
    for (const model of this.models.values()) {
      const want = this.wanted(model.name);
      const registered = this.snapshot.versions.get(model.name) ?? new Map<number, string>();
      // Start loads: wanted versions not loaded, and failed ones whose files were replaced.
      for (const v of want) {
        const m = model.versions.get(v);
        const prefix = registered.get(v)!;
        if (!m || (m.state === 'END' && m.blobPrefix !== prefix)) this.startLoad(model, v, prefix);
      }
      // Labels follow the registry once their target can serve; a removed alias goes at once.
      const aliases = this.snapshot.aliases.get(model.name) ?? new Map<string, number>();
      for (const label of [...model.labels.keys()]) if (!aliases.has(label)) model.labels.delete(label);
      for (const [label, v] of aliases) {
        if (model.versions.get(v)?.state === 'AVAILABLE' && model.labels.get(label) !== v) {
          const from = model.labels.get(label);
          model.labels.set(label, v);
          this.log(
            `serving: ${model.name} label '${label}' → version ${v}${from !== undefined ? ` (was ${from})` : ''}`,
          );
        }
      }
      // Retire what is neither wanted, nor behind a label, nor the newest servable version (kept
      // while a newer wanted one is still loading or failed).
      const latest = this.latestAvailable(model);
      const keep = new Set<number>([...want, ...model.labels.values()]);
      if (latest !== undefined) keep.add(latest);
      for (const m of [...model.versions.values()]) {
        if (keep.has(m.version) || m.state === 'LOADING' || m.state === 'UNLOADING') continue;
        if (m.state === 'END') {
          if (!registered.has(m.version) || !want.has(m.version)) model.versions.delete(m.version);
          continue;
        }
        this.retire(model, m);
      }
    }
  }

  private latestAvailable(model: ManagedModel): number | undefined {
    let best: number | undefined;
    for (const m of model.versions.values())
      if (m.state === 'AVAILABLE' && (best === undefined || m.version > best)) best = m.version;
    return best;
  }

  private startLoad(model: ManagedModel, version: number, blobPrefix: string): void {
    const m: ManagedVersion = { version, blobPrefix, state: 'LOADING', error: null, servable: null };
    model.versions.set(version, m);
    this.log(`serving: loading ${model.name} version ${version}`);
    const load = (async () => {
      let servable: Servable | null = null;
      try {
        const info: ModelVersion = await this.registry.get({ name: model.name, version });
        const net = await loadModelFromBlobs(this.store.blobs, info.blobPrefix);
        try {
          const sig = servingSignature(net, info);
          const reference = await loadReferenceStatistics(this.store, info, sig.channels, sig.angleFeature).catch(
            () => null,
          );
          servable = new Servable(net, info, sig, reference);
          servable.warmUp();
          await this.options.prepare?.(servable);
        } catch (err) {
          if (servable) servable.retire();
          else net.dispose();
          throw err;
        }
      } catch (err) {
        m.state = 'END';
        m.error = (err as Error).message;
        this.log(`serving: ${model.name} version ${version} failed to load: ${m.error}`);
        return;
      }
      if (this.closed || model.versions.get(version) !== m) {
        void servable.retire();
        return;
      }
      m.servable = servable;
      m.state = 'AVAILABLE';
      this.log(`serving: ${model.name} version ${version} is available`);
      this.options.onAvailable?.(servable);
      this.reconcile();
    })();
    this.loads.add(load);
    void load.finally(() => this.loads.delete(load));
  }

  private retire(model: ManagedModel, m: ManagedVersion): void {
    const servable = m.servable;
    m.state = 'UNLOADING';
    m.servable = null;
    if (!servable) {
      model.versions.delete(m.version);
      return;
    }
    this.options.onRetired?.(servable);
    this.log(`serving: unloading ${model.name} version ${m.version} (${servable.inFlight} requests in flight)`);
    void servable.retire().then(() => {
      if (model.versions.get(m.version) === m) model.versions.delete(m.version);
      this.log(`serving: ${model.name} version ${m.version} unloaded`);
    });
  }

  /** Model names served (registered, whatever their versions' states). */
  names(): string[] {
    return [...this.models.keys()].sort();
  }

  /**
   * The servable a request is for, acquired (the caller releases it). Unknown models, versions and
   * labels, and versions that are not AVAILABLE, are NOT_FOUND as in TF Serving.
   */
  acquire(name: string, sel: VersionSelector): Servable {
    const model = this.models.get(name);
    if (!model) throw notFound(`Servable not found for request: ${describeRequest(name, sel)}`);
    let version: number | undefined;
    if (sel.kind === 'latest') version = this.latestAvailable(model);
    else if (sel.kind === 'version') version = sel.version;
    else {
      version = model.labels.get(sel.label);
      if (version === undefined) {
        const known = [...model.labels.keys()];
        throw notFound(
          `Unrecognized servable version label: ${sel.label} (model ${name} has ${known.length ? `labels ${known.join(', ')}` : 'no labels'})`,
        );
      }
    }
    const m = version === undefined ? undefined : model.versions.get(version);
    if (!m || m.state !== 'AVAILABLE' || !m.servable) {
      let why = '';
      if (m?.state === 'END' && m.error) why = `: version ${m.version} failed to load: ${m.error}`;
      else if (m) why = `: version ${m.version} is ${m.state}`;
      else if (sel.kind === 'latest') {
        const failed = [...model.versions.values()].filter((v) => v.state === 'END' && v.error);
        why = failed.length
          ? failed.map((v) => `: version ${v.version} failed to load: ${v.error}`).join('')
          : ': no version is available';
      }
      throw notFound(`Servable not found for request: ${describeRequest(name, sel)}${why}`);
    }
    m.servable.acquire();
    return m.servable;
  }

  /** TF Serving's GetModelStatusResponse: every version managed, or the one a selector names. */
  status(name: string, sel: VersionSelector = { kind: 'latest' }): ModelStatusResponse {
    const model = this.models.get(name);
    if (!model || (model.versions.size === 0 && !this.snapshot.versions.has(name))) {
      throw notFound(`Could not find any versions of model ${name}`);
    }
    let versions = [...model.versions.values()];
    if (sel.kind === 'version') {
      versions = versions.filter((m) => m.version === sel.version);
      if (versions.length === 0) throw notFound(`Could not find version ${sel.version} of model ${name}`);
    } else if (sel.kind === 'label') {
      const v = model.labels.get(sel.label);
      if (v === undefined) throw notFound(`Unrecognized servable version label: ${sel.label}`);
      versions = versions.filter((m) => m.version === v);
    }
    return {
      model_version_status: versions
        .sort((a, b) => b.version - a.version)
        .map((m) => ({
          version: String(m.version),
          state: m.state,
          status: { error_code: m.error ? 'UNKNOWN' : 'OK', error_message: m.error ?? '' },
        })),
    };
  }

  /** Labels pointing at `version` of `name`. */
  labelsOf(name: string, version: number): string[] {
    const model = this.models.get(name);
    return model
      ? [...model.labels]
          .filter(([, v]) => v === version)
          .map(([l]) => l)
          .sort()
      : [];
  }

  /** Every managed version with its state, for /healthz and the CLI. */
  overview(): { name: string; version: number; state: ServableState; error: string | null; labels: string[] }[] {
    const out: { name: string; version: number; state: ServableState; error: string | null; labels: string[] }[] = [];
    for (const model of [...this.models.values()].sort((a, b) => a.name.localeCompare(b.name))) {
      for (const m of [...model.versions.values()].sort((a, b) => a.version - b.version)) {
        out.push({
          name: model.name,
          version: m.version,
          state: m.state,
          error: m.error,
          labels: this.labelsOf(model.name, m.version),
        });
      }
    }
    return out;
  }

  /** Stops polling and unloads everything once in-flight requests are done. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    await this.syncing?.catch(() => undefined);
    await this.settled();
    const retiring: Promise<void>[] = [];
    for (const model of this.models.values()) {
      for (const m of model.versions.values()) {
        if (m.servable) retiring.push(m.servable.retire());
        m.servable = null;
        m.state = 'END';
      }
    }
    await Promise.all(retiring);
  }
}
