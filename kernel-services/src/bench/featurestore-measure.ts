/**
 * Timing helpers shared by `floe bench featurestore` and its preparation child process: the raw
 * sequential read reference and one shuffled epoch through the loader, both with wall and CPU time.
 */
import * as fs from 'node:fs';
import type { TrainingDataLoader } from '../feature-store/loader';
import type { Tf } from '../training/backend';

export const MB = 1e6;

export interface Timed {
  seconds: number;
  cpuSeconds: number;
}

export function timer(): () => Timed {
  const t0 = process.hrtime.bigint();
  const c0 = process.cpuUsage();
  return () => {
    const cpu = process.cpuUsage(c0);
    return { seconds: Number(process.hrtime.bigint() - t0) / 1e9, cpuSeconds: (cpu.user + cpu.system) / 1e6 };
  };
}

/**
 * Reads [from, to) of `file` front to back in 8 MiB reads into one reused buffer, pass after pass
 * until at least `minSeconds` have gone by: on a busy machine a single pass of a fraction of a second
 * can finish inside one scheduler slice, which would flatter the reference against a longer epoch.
 */
export function rawSequentialRead(
  file: string,
  from: number,
  to: number,
  minSeconds: number,
): Timed & { bytes: number } {
  const fd = fs.openSync(file, 'r');
  const buf = Buffer.allocUnsafe(8 << 20);
  let checksum = 0;
  let bytes = 0;
  const done = timer();
  try {
    do {
      for (let at = from; at < to;) {
        const n = fs.readSync(fd, buf, 0, Math.min(buf.length, to - at), at);
        if (n === 0) throw new Error(`bench featurestore: ${file} ends at byte ${at}`);
        at += n;
        checksum ^= buf[n - 1]!; // touch the data so the read cannot be skipped
      }
      bytes += to - from;
    } while (done().seconds < minSeconds);
  } finally {
    fs.closeSync(fd);
  }
  void checksum;
  return { ...done(), bytes };
}

/** One shuffled epoch through the loader, as tf tensors (created, then disposed) or as typed arrays. */
export async function epochThrough(
  loader: TrainingDataLoader,
  epoch: number,
  as: { tensors: Tf } | 'arrays',
): Promise<Timed & { patches: number }> {
  let served = 0;
  const done = timer();
  if (as === 'arrays') {
    for await (const b of loader.rawBatches(epoch)) served += b.size;
  } else {
    for await (const { xs, ys } of loader.batches(as.tensors, epoch)) {
      served += xs.shape[0];
      xs.dispose();
      ys.dispose();
    }
  }
  return { ...done(), patches: served };
}

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

export const round = (x: number, digits = 0): number => Number(x.toFixed(digits));
