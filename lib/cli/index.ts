/** The `lambda-unit-of-work` CLI as functions: {@link runCli} and its pieces. */
export { CLI_ENV, runCli, USAGE, type CliIo } from './main.js';
export { createCliClients, isLocalTarget, type CliClients, type CliTarget } from './clients.js';
export { formatJobTable, formatRedriveSummary, formatTable } from './format.js';
