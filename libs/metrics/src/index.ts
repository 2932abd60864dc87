export { createMetricsRegistry, startMetricsServer } from './metrics-server.js';
export type { MetricsServer, MetricsServerOptions } from './metrics-server.js';
export { METRICS_REGISTRY, MetricsModule, MetricsServerHost } from './metrics.module.js';
export type { MetricsModuleOptions } from './metrics.module.js';
