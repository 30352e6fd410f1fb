import { defineConfig } from 'vitest/config';

// Unit and integration tests of schema/ and kernel-services/ (tests sit beside the code they test).
// Browser tests (tests/browser) run under Playwright; notebooks under nbconvert (scripts/test.sh).
export default defineConfig({
  test: {
    include: ['schema/src/**/*.test.ts', 'kernel-services/src/**/*.test.ts', 'extension/src/**/*.test.ts'],
    testTimeout: 120_000,
    hookTimeout: 180_000,
    pool: 'forks',
    // Native TensorFlow and the servers some tests start are heavy: two cores, two workers.
    maxWorkers: 2,
  },
});
