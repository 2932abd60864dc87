/**
 * Public entry of the contracts lib: the protobuf-es schemas and types generated
 * from `proto/caracal/deploy/v1`. Each generated file is re-exported whole so a new
 * message in a .proto file needs no hand edit here beyond adding its file once.
 */
export * from './gen/caracal/deploy/v1/health_pb.js';
export * from './gen/caracal/deploy/v1/validation_pb.js';
export * from './gen/caracal/deploy/v1/simulation_pb.js';
export * from './gen/caracal/deploy/v1/activation_pb.js';
export * from './gen/caracal/deploy/v1/sts_pb.js';
export * from './gen/caracal/deploy/v1/rollback_pb.js';
export * from './gen/caracal/deploy/v1/verification_pb.js';
export * from './gen/caracal/deploy/v1/deployment_pb.js';
