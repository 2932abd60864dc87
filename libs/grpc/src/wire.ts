import { Metadata, type ServiceDefinition, type ServiceError, status } from '@grpc/grpc-js';
import {
  fromBinary,
  toBinary,
  type DescMessage,
  type DescMethod,
  type DescService,
  type MessageShape,
} from '@bufbuild/protobuf';
import {
  type DeployError,
  type FieldViolation,
  errorCodeOfGrpcStatus,
  errorFromCode,
  grpcStatusByCode,
  isErrorCode,
} from '@caracal-deploy/errors';

/** Trailer key carrying the typed error (code, violations, details) as JSON. */
const errorTrailer = 'caracal-error-bin';

/** The wire path of a method, e.g. `/caracal.deploy.v1.HealthService/Check`. */
export function methodPath(method: DescMethod): string {
  return `/${method.parent.typeName}/${method.name}`;
}

/** Encodes with the generated schema: the only serializer on the gRPC path. */
export function serializer<D extends DescMessage>(schema: D): (message: MessageShape<D>) => Buffer {
  return (message) => Buffer.from(toBinary(schema, message));
}

/** Decodes with the generated schema: the only deserializer on the gRPC path. */
export function deserializer<D extends DescMessage>(schema: D): (bytes: Buffer) => MessageShape<D> {
  return (bytes) => fromBinary(schema, bytes);
}

/** A grpc-js service definition whose (de)serializers are the protobuf-es schemas. */
export function grpcServiceDefinition(service: DescService): ServiceDefinition {
  const definition: Record<string, ServiceDefinition[string]> = {};
  for (const method of service.methods) {
    definition[method.localName] = {
      path: methodPath(method),
      requestStream:
        method.methodKind === 'client_streaming' || method.methodKind === 'bidi_streaming',
      responseStream:
        method.methodKind === 'server_streaming' || method.methodKind === 'bidi_streaming',
      requestSerialize: serializer(method.input),
      requestDeserialize: deserializer(method.input),
      responseSerialize: serializer(method.output),
      responseDeserialize: deserializer(method.output),
    };
  }
  return definition;
}

interface WireError {
  code: string;
  violations: readonly FieldViolation[];
  details: Readonly<Record<string, string>>;
}

/** A grpc-js status error carrying the typed error in a trailer. */
export function toServiceError(error: DeployError): Partial<ServiceError> {
  const metadata = new Metadata();
  const wire: WireError = {
    code: error.code,
    violations: error.violations,
    details: error.details,
  };
  metadata.set(errorTrailer, Buffer.from(JSON.stringify(wire)));
  return { code: grpcStatusByCode[error.code], details: error.message, metadata };
}

/** Rebuilds the typed error a server sent; statuses from elsewhere map by code alone. */
export function fromServiceError(error: ServiceError): DeployError {
  const message = error.details || error.message;
  const trailer = error.metadata?.get(errorTrailer)[0];
  if (Buffer.isBuffer(trailer)) {
    try {
      const wire = JSON.parse(trailer.toString('utf8')) as WireError;
      if (isErrorCode(wire.code)) {
        return errorFromCode(wire.code, message, {
          cause: error,
          violations: wire.violations,
          details: wire.details,
        });
      }
    } catch {
      // A malformed trailer is not ours; fall back to the status code below.
    }
  }
  const code = error.code === status.UNKNOWN ? 'internal' : errorCodeOfGrpcStatus(error.code);
  return errorFromCode(code, message, { cause: error });
}

/** Request metadata as plain strings, skipping binary values. */
export function metadataRecord(metadata: Metadata): Record<string, string> {
  const record: Record<string, string> = {};
  for (const [key, value] of Object.entries(metadata.getMap())) {
    if (typeof value === 'string') record[key] = value;
  }
  return record;
}
