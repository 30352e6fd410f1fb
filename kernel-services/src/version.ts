import { readFileSync } from 'node:fs';
import * as path from 'node:path';

/** Floe's version, from kernel-services/package.json (one source of truth). */
export const FLOE_VERSION: string = (
  JSON.parse(readFileSync(path.join(__dirname, '..', 'package.json'), 'utf8')) as { version: string }
).version;
