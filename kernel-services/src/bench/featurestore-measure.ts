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
 * Where in its allocation the reference's read buffer starts. On the AMD EPYC here a kernel copy
 * from the page cache into a destination at the same offset within a 4 KiB page as its source runs
 * about 5x slower (8 MiB reads: 1.6 vs 7-8 GB per CPU-second), and large allocations start on a page
 * boundary, as the file's records do. So the first call tries two offsets 2 KiB apart (at most one
 * of them can be page-aligned) and the reference keeps the faster: it is the best sequential read
 * this process can do, never one slowed by an unlucky buffer address.
 */
let reference: { base: Buffer; offset: number } | undefined;

function chooseReferenceOffset(fd: number, base: Buffer, from: number, to: number): number {
  const probe = (offset: number): number => {
    const buf = base.subarray(offset, offset + (8 << 20));
    const done = timer();
    for (let at = from, n = 0; at < to && n < 8; n++) at += fs.readSync(fd, buf, 0, Math.min(buf.length, to - at), at);
    return done().cpuSeconds;
  };
  const best = { offset: 64, cpu: Infinity };
  for (let round = 0; round < 3; round++) {
    for (const offset of [64, 2048 + 64]) {
      const cpu = probe(offset);
      if (cpu < best.cpu) Object.assign(best, { offset, cpu });
    }
  }
  return best.offset;
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
): Timed & { bytes: number; bufferOffset: number } {
  const fd = fs.openSync(file, 'r');
  if (!reference) {
    // One buffer for the life of the process, so the offset chosen stays right for it.
    const base = Buffer.allocUnsafeSlow((8 << 20) + 4096);
    reference = { base, offset: chooseReferenceOffset(fd, base, from, to) };
  }
  const buf = reference.base.subarray(reference.offset, reference.offset + (8 << 20));
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
  return { ...done(), bytes, bufferOffset: reference.offset };
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
