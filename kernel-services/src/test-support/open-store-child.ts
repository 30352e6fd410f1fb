/**
 * A second process for the store's concurrency and crash tests. Usage:
 *   node -r ts-register.cjs open-store-child.ts '<StoreOptions JSON>' <job> [args...]
 * Jobs: `open` (open, print {applied, projectId}); `count <n> [startAtMs]` (n read-increment-write steps of one
 * counter under writeTransaction; `count-plain` under db.transaction()); `slow-put <key> <MiB>` (stream a blob slowly, printing "writing"
 * after the first MiB, so the parent can kill it mid-write).
 */
import { openProjectStore, type StoreOptions } from '../store';

async function* slowChunks(mib: number): AsyncIterable<Uint8Array> {
  for (let i = 0; i < mib; i++) {
    yield new Uint8Array(1024 * 1024).fill(0xee);
    if (i === 0) process.stdout.write('writing\n');
    await new Promise((r) => setTimeout(r, 200));
  }
}

async function main(): Promise<void> {
  const [optionsJson, job, ...args] = process.argv.slice(2);
  const store = await openProjectStore(JSON.parse(optionsJson) as StoreOptions);
  try {
    if (job === 'open') {
      process.stdout.write(
        `${JSON.stringify({ applied: store.schema.applied, projectId: await store.meta('project_id') })}\n`,
      );
    } else if (job === 'count' || job === 'count-plain') {
      // `count-plain` uses Kysely's own transaction (safe on SQLite only: BEGIN IMMEDIATE).
      const steps = Number(args[0]);
      const transaction = <T>(fn: (trx: typeof store.db) => Promise<T>, options: { lockKey: string }): Promise<T> =>
        job === 'count' ? store.writeTransaction(fn, options) : store.db.transaction().execute(fn);
      // Optional start time, so that several children race from the same moment.
      if (args[1]) await new Promise((r) => setTimeout(r, Math.max(0, Number(args[1]) - Date.now())));
      for (let i = 0; i < steps; i++) {
        await transaction(
          async (trx) => {
            const row = await trx
              .selectFrom('meta')
              .select('value')
              .where('key', '=', 'test_counter')
              .executeTakeFirst();
            // Widen the window between read and write, where a lost update would happen.
            await new Promise((r) => setTimeout(r, 2));
            const next = String(Number(row?.value ?? '0') + 1);
            await trx
              .insertInto('meta')
              .values({ key: 'test_counter', value: next })
              .onConflict((oc) => oc.column('key').doUpdateSet({ value: next }))
              .execute();
          },
          { lockKey: 'test_counter' },
        );
      }
      process.stdout.write('done\n');
    } else if (job === 'slow-put') {
      await store.blobs.put(args[0], slowChunks(Number(args[1])));
      process.stdout.write('finished\n');
    } else {
      throw new Error(`unknown job ${job}`);
    }
  } finally {
    await store.close();
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
