/**
 * A second process for the feature store's crash test. Usage:
 *   node -r ts-register.cjs insert-child.test-support.ts '<StoreOptions JSON>' <group> <idPrefix>
 * Inserts 30 chunks of 20 patches as one streamed commit, slowly, printing "appended <rows>" after
 * each Lance append, so the parent can SIGKILL it between appends and the metadata commit.
 */
import type { StoreOptions } from '../store';
import { FeatureStore } from './feature-store';
import { patches } from './fixtures.test-support';

async function main(): Promise<void> {
  const [optionsJson, group, prefix] = process.argv.slice(2);
  const store = await FeatureStore.open(JSON.parse(optionsJson!) as StoreOptions);
  const g = await store.getFeatureGroup(group!);
  async function* slow(): AsyncIterable<Record<string, unknown>[]> {
    for (let c = 0; c < 30; c++) {
      yield patches(20, 100 + c, `${prefix}${c}_`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  await g.insert(slow(), { chunkRows: 20, progress: (n) => process.stdout.write(`appended ${n}\n`) });
  process.stdout.write('committed\n');
  await store.close();
}

if (require.main === module) {
  main().catch((err) => {
    process.stderr.write(`${(err as Error).stack}\n`);
    process.exit(1);
  });
}
