export { CoreHost, HostedCoreModule } from './core-host.js';
export type { HostedCore, HostedCoreModuleOptions } from './core-host.js';
export { serviceModules } from './service-modules.js';
export type { ServiceModulesOptions } from './service-modules.js';
