export { ConfigError, env, loadConfig } from './load-config.js';
export type { ConfigShape, ConfigSource } from './load-config.js';
export { workspaceRoot } from './workspace-root.js';
