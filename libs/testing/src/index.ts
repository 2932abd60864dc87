export { containerImages, startContainerInfra, testcontainersEnabled } from './container-infra.js';
export type {
  ContainerComponent,
  ContainerInfra,
  ContainerInfraOptions,
} from './container-infra.js';
export { infraSettings, localDir } from './infra-settings.js';
export type { InfraSettings } from './infra-settings.js';
export { assertReachable, infraUnavailable } from './reachability.js';
export type { InfraComponent } from './reachability.js';
export { createRedisNamespace } from './redis-namespace.js';
export type { RedisNamespace } from './redis-namespace.js';
export { createTestDatabase, reserveTestDatabase } from './test-database.js';
export type { TestDatabase } from './test-database.js';
export { createTestTopic, readJsonTopics } from './test-topic.js';
export type { TestTopic, TestTopicOptions, TopicReader } from './test-topic.js';
export { uniqueName } from './unique-name.js';
export { describeError, errorCode, waitFor } from './wait-for.js';
export type { WaitForOptions } from './wait-for.js';
export { freePort, startServiceProcess } from './service-process.js';
export type { ServiceProcess, ServiceProcessOptions } from './service-process.js';
export { registerScrapeTarget } from './scrape-target.js';
export type { ScrapeTarget } from './scrape-target.js';
export {
  appMain,
  createAdminToken,
  freeAddress,
  grpcAnswers,
  grpcHealthIs,
  startActivationCoordinator,
  startControlPlane,
  startPolicyValidator,
  startRollbackController,
  stsEnv,
} from './services.js';
export type { ControlPlane, RunningService, StsEnvOptions } from './services.js';
