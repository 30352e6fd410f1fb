#!/usr/bin/env node
'use strict';
// The `floe` command: a thin launcher for the compiled CLI (kernel-services/src/cli).
require('../dist/cli/main.js')
  .main(process.argv.slice(2))
  .then((code) => {
    process.exitCode = code;
  });
