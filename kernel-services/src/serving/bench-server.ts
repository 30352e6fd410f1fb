/**
 * The server side of `floe bench serve`, in a process of its own so the load generator never shares
 * its event loop: `node bench-server.js '<json ServeOptions subset>'`. Prints one JSON line with the
 * URL once serving, and stops on SIGTERM.
 */
import type { TfExecution } from '../training/backend';
import { serve } from './server';

interface BenchServerConfig {
  home: string;
  models: string[];
  batching: { enabled: boolean; maxBatchSize: number; maxWaitUs: number };
  predictThread: boolean;
  execution: TfExecution;
}

async function main(): Promise<void> {
  const config = JSON.parse(process.argv[2] ?? '{}') as BenchServerConfig;
  const server = await serve({
    storeOptions: { home: config.home },
    models: config.models,
    port: 0,
    batching: config.batching,
    predictThread: config.predictThread,
    execution: config.execution,
    pollIntervalMs: 0,
    maxBodyBytes: 256 * 1024 * 1024,
  });
  process.stdout.write(`${JSON.stringify({ url: server.url })}\n`);
  process.once('SIGTERM', () => void server.close().then(() => process.exit(0)));
}

main().catch((err: Error) => {
  process.stderr.write(`bench server: ${err.stack ?? err.message}\n`);
  process.exit(1);
});
