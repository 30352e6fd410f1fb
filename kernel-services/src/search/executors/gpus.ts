import { execFileSync } from 'node:child_process';

/**
 * The GPUs workers may use: the ids in CUDA_VISIBLE_DEVICES when it is set (empty or -1 = none),
 * else what `nvidia-smi -L` lists, else none.
 */
export function visibleGpus(env: NodeJS.ProcessEnv = process.env): string[] {
  const set = env.CUDA_VISIBLE_DEVICES;
  if (set !== undefined) {
    const ids = set
      .split(',')
      .map((s) => s.trim())
      .filter((s) => s !== '' && s !== '-1');
    return ids;
  }
  try {
    const out = execFileSync('nvidia-smi', ['-L'], {
      encoding: 'utf8',
      timeout: 5000,
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    return out
      .split('\n')
      .map((line) => /^GPU (\d+):/.exec(line)?.[1])
      .filter((id): id is string => id !== undefined);
  } catch {
    return [];
  }
}

/** CUDA_VISIBLE_DEVICES for worker `index`: one GPU each, round-robin when workers outnumber GPUs. */
export function gpuForWorker(index: number, gpus: readonly string[]): string | undefined {
  return gpus.length ? gpus[index % gpus.length] : undefined;
}
