/**
 * apache-arrow loaded through `require`, always. @lancedb/lancedb is CommonJS and requires the CJS
 * build; an ESM `import` (as under vitest) would load a second copy whose classes fail `instanceof`
 * checks against Lance's batches. One copy for both sides keeps tables interchangeable.
 */
// eslint-disable-next-line @typescript-eslint/no-require-imports
export const A = require('apache-arrow') as typeof import('apache-arrow');
