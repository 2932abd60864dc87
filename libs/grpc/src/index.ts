export { GrpcServer } from './grpc-server.js';
export type { GrpcServerLogger, GrpcServerOptions } from './grpc-server.js';
export { createGrpcClient } from './grpc-client.js';
export type { GrpcClient, GrpcClientOptions } from './grpc-client.js';
export { GrpcModule, GrpcServerHost, GrpcService } from './grpc.module.js';
export type { GrpcModuleOptions } from './grpc.module.js';
export { HealthChecker, HealthGrpcService, HealthModule, nowUnixNanos } from './health.js';
export type { HealthIndicator, HealthModuleOptions, ServiceInfo } from './health.js';
export type {
  BidiStream,
  CallContext,
  CallOptions,
  ServiceClient,
  ServiceImpl,
} from './service-types.js';
export { grpcServiceDefinition } from './wire.js';
