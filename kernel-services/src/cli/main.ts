import { BENCH_NAMES, isBenchName } from '../bench/contract';

const USAGE = `floe — Earth-observation ML workbench

usage: floe <command> [options]

commands:
  info                      versions, TensorFlow backend and device, project store (JSON)
  smoke                     train a small CNN for one epoch on the native backend; fails unless the loss falls
  hub [--socket PATH | --port N] [--host H]
                            start the hub HTTP service (loopback or unix socket only)
  train (--data F | --training-dataset N) [options]
                            train a zoo model, tracked as a run ('floe train --help')
  runs [list|show|compare|reap]  experiment runs
  models [list|versions|show|register|alias|best|lineage]  the model registry
  fs <command> [options]    the feature store: create, insert, list, stats, dataset, export ('floe fs help')
  generate --out FILE [--count N] [--seed S] [--test]
                            write seeded synthetic SAR patches in the Statoil JSON format
  validate FILE [--strict]  check a Statoil JSON file with the default iceberg rules
  search run|resume|stop|list|show   hyperparameter search ('floe search help')
  ablate --config FILE.json leave-one-component-out ablation study
  worker --redis URL        a trial worker for searches queued in Redis
  pipeline [--size quick|full] [--workers N]
                            the iceberg tutorial headless: validation, features, training, search, ablation
  serve [MODEL...] [options]  serve registered models over TensorFlow Serving's REST API ('floe serve --help')
  monitor MODEL [options]   drift report of served requests against the training statistics ('floe monitor --help')
  bench <name> [options]    run a benchmark: ${BENCH_NAMES.join(', ')}; ends with one JSON line
  help                      this text
`;

/** Parses `--key value` / `--key=value` / `--flag` options; the rest are positionals. */
export function parseArgs(argv: string[]): { positionals: string[]; options: Record<string, string | true> } {
  const positionals: string[] = [];
  const options: Record<string, string | true> = {};
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (!a.startsWith('--')) {
      positionals.push(a);
      continue;
    }
    const eq = a.indexOf('=');
    if (eq > 0) options[a.slice(2, eq)] = a.slice(eq + 1);
    else if (i + 1 < argv.length && !argv[i + 1]!.startsWith('--')) options[a.slice(2)] = argv[++i]!;
    else options[a.slice(2)] = true;
  }
  return { positionals, options };
}

function fail(message: string): number {
  process.stderr.write(`floe: ${message}\n`);
  return 2;
}

export async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  try {
    switch (command) {
      case undefined:
      case 'help':
      case '--help':
      case '-h':
        process.stdout.write(USAGE);
        return 0;
      case 'info': {
        const { info } = await import('../info');
        process.stdout.write(JSON.stringify(info(), null, 2) + '\n');
        return 0;
      }
      case 'smoke': {
        const { trainSmoke } = await import('../training/smoke');
        const r = await trainSmoke();
        process.stdout.write(JSON.stringify(r, null, 2) + '\n');
        if (!(r.lossAfter < r.lossBefore)) return fail(`smoke: loss did not fall (${r.lossBefore} -> ${r.lossAfter})`);
        return 0;
      }
      case 'hub': {
        const { options } = parseArgs(rest);
        const { startHub } = await import('../hub/server');
        let hub: import('../hub/server').RunningHub;
        if (typeof options.socket === 'string') hub = await startHub({ socket: options.socket });
        else {
          const port = Number(options.port ?? 0);
          if (!Number.isInteger(port) || port < 0 || port > 65535)
            return fail(`hub: --port must be 0..65535, got ${options.port}`);
          const host = typeof options.host === 'string' ? options.host : '127.0.0.1';
          if (!['127.0.0.1', 'localhost', '::1'].includes(host) && options['allow-remote'] !== true) {
            return fail(
              `hub: refusing to listen on ${host}; the hub binds to loopback (pass --allow-remote to override)`,
            );
          }
          hub = await startHub({ port, host });
        }
        process.stdout.write(`floe hub listening on ${hub.address}\n`);
        const stop = (): void => void hub.close().then(() => process.exit(0));
        process.once('SIGINT', stop);
        process.once('SIGTERM', stop);
        await new Promise(() => undefined);
        return 0;
      }
      case 'train':
      case 'runs':
      case 'models': {
        const cli = await import('../training/cli');
        const out = (l: string): void => void process.stdout.write(`${l}\n`);
        try {
          if (command === 'train') return await cli.trainCommand(rest, out);
          if (command === 'runs') return await cli.runsCommand(rest, out);
          return await cli.modelsCommand(rest, out);
        } catch (err) {
          if (err instanceof cli.UsageError) return fail(err.message);
          throw err;
        }
      }
      case 'fs': {
        const { fsCommand } = await import('../feature-store/cli');
        return await fsCommand(rest, (l) => process.stdout.write(`${l}\n`), parseArgs);
      }
      case 'generate':
      case 'validate': {
        const ingest = await import('../ingest/cli');
        const out = (l: string): void => void process.stdout.write(`${l}\n`);
        const err = (l: string): void => void process.stderr.write(`${l}\n`);
        try {
          if (command === 'generate') return await ingest.generateCommand(parseArgs(rest), out, err);
          return await ingest.validateCommand(parseArgs(rest), out);
        } catch (e) {
          if (e instanceof ingest.IngestUsageError) return fail(e.message);
          throw e;
        }
      }
      case 'search':
      case 'ablate':
      case 'worker': {
        const cli = await import('../search/cli');
        const out = (l: string): void => void process.stdout.write(`${l}\n`);
        try {
          if (command === 'search') return await cli.searchCommand(rest, out, parseArgs);
          if (command === 'ablate') return await cli.ablateCommand(rest, out, parseArgs);
          return await cli.workerCommand(rest, out, parseArgs);
        } catch (err) {
          if (err instanceof cli.SearchUsageError) return fail(err.message);
          throw err;
        }
      }
      case 'pipeline': {
        const cli = await import('../pipeline/cli');
        try {
          return await cli.pipelineCommand(parseArgs(rest), (l) => void process.stdout.write(`${l}\n`));
        } catch (err) {
          if (err instanceof cli.PipelineUsageError) return fail(`pipeline: ${err.message}`);
          throw err;
        }
      }
      case 'serve':
      case 'monitor': {
        const { positionals, options } = parseArgs(rest);
        const out = (l: string): void => void process.stdout.write(`${l}\n`);
        if (command === 'serve') return await (await import('../serving/cli')).serveCommand(positionals, options, out);
        return await (await import('../monitoring/cli')).monitorCommand(positionals, options, out);
      }
      case 'bench': {
        const [name, ...args] = rest;
        if (!name || !isBenchName(name)) return fail(`bench: name one of ${BENCH_NAMES.join(', ')}`);
        const { runBench } = await import('../bench/index');
        const line = await runBench(name, args, (l) => process.stdout.write(`${l}\n`));
        process.stdout.write(JSON.stringify(line) + '\n');
        return line.ratio === null ? 3 : 0;
      }
      default:
        return fail(`unknown command '${command}' (see 'floe help')`);
    }
  } catch (err) {
    return fail(err instanceof Error ? err.message : String(err));
  }
}
