import type { BenchRunner } from './index';
import { BENCH_GOALS } from './contract';

/** Placeholder replaced by the training benchmark (Floe tfjs-native vs Python Keras). */
export const benchTrain: BenchRunner = async () => ({ bench: 'train', ratio: null, ...BENCH_GOALS.train, unavailable: 'in progress' });
