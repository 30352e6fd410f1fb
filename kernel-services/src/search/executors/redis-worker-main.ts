/**
 * A process entry for a Redis trial worker (what `floe worker --redis URL` runs), used by tests that
 * start workers from sources. argv: <redis url> [queue].
 */
import { startRedisWorker } from './redis';

async function main(): Promise<void> {
  const [url, queue] = process.argv.slice(2);
  if (!url) {
    process.stderr.write('usage: redis-worker-main <redis://host:port> [queue]\n');
    process.exit(2);
  }
  const worker = await startRedisWorker({ url, queue, log: (l) => process.stdout.write(`${l}\n`) });
  const stop = (): void => void worker.close().then(() => process.exit(0));
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

main().catch((err: Error) => {
  process.stderr.write(`floe worker: ${err.message}\n`);
  process.exit(1);
});
