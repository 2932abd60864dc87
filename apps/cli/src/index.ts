export { defaultAdminUrl, runCli, usage } from './cli.js';
export type { CliIo } from './cli.js';
export { ExitCode } from './exit-codes.js';
export type { ExitCodeValue } from './exit-codes.js';
