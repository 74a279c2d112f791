#!/usr/bin/env node
/** The `lambda-unit-of-work` executable (package.json `bin`): see {@link runCli}. */
import { runCli } from './main.js';

process.exitCode = await runCli(process.argv.slice(2));
