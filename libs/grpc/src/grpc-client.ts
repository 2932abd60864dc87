import {
  Client,
  Metadata,
  credentials,
  type CallOptions as GrpcCallOptions,
  type ClientDuplexStream,
  type ClientReadableStream,
  type ServiceError,
} from '@grpc/grpc-js';
import type { DescMessage, DescMethod, DescService, MessageShape } from '@bufbuild/protobuf';
import { create } from '@bufbuild/protobuf';
import {
  type DeployError,
  FailedPreconditionError,
  UnavailableError,
} from '@caracal-deploy/errors';

import { MessageQueue } from './message-queue.js';
import type { BidiStream, CallOptions, ServiceClient } from './service-types.js';
import { deserializer, fromServiceError, methodPath, serializer } from './wire.js';

/** Options of {@link createGrpcClient}. */
export interface GrpcClientOptions {
  /** Default deadline of unary calls in milliseconds when a call sets none (default 30 s). */
  readonly defaultTimeoutMs?: number;
}

/** A typed client plus the means to close its channel. */
export type GrpcClient<S extends DescService> = ServiceClient<S> & {
  /** Closes the underlying channel; in-flight calls fail with `cancelled`. */
  close(): void;
};

function metadataOf(options: CallOptions | undefined): Metadata {
  const metadata = new Metadata();
  for (const [key, value] of Object.entries(options?.metadata ?? {})) metadata.set(key, value);
  return metadata;
}

function grpcOptions(timeoutMs: number | undefined): GrpcCallOptions {
  return timeoutMs === undefined ? {} : { deadline: Date.now() + timeoutMs };
}

/**
 * A typed client of one generated service over an insecure loopback channel:
 * requests are built with `create`, encoded with the generated schema, and
 * failures arrive as the closed {@link DeployError} set.
 */
export function createGrpcClient<S extends DescService>(
  service: S,
  address: string,
  options: GrpcClientOptions = {},
): GrpcClient<S> {
  const client = new Client(address, credentials.createInsecure());
  const defaultTimeoutMs = options.defaultTimeoutMs ?? 30_000;
  const methods: Record<string, unknown> = {};

  for (const method of service.methods) {
    if (method.methodKind === 'unary') {
      methods[method.localName] = unaryCall(client, method, defaultTimeoutMs);
    } else if (method.methodKind === 'server_streaming') {
      methods[method.localName] = serverStreamingCall(client, method);
    } else if (method.methodKind === 'bidi_streaming') {
      methods[method.localName] = bidiStreamingCall(client, method);
    }
  }
  methods['close'] = () => client.close();
  return methods as GrpcClient<S>;
}

function unaryCall(client: Client, method: DescMethod, defaultTimeoutMs: number) {
  return (request: unknown, options?: CallOptions) =>
    new Promise((resolve, reject) => {
      const call = client.makeUnaryRequest(
        methodPath(method),
        serializer(method.input),
        deserializer(method.output),
        create(method.input, request as never),
        metadataOf(options),
        grpcOptions(options?.timeoutMs ?? defaultTimeoutMs),
        (error: ServiceError | null, response) =>
          error ? reject(fromServiceError(error)) : resolve(response),
      );
      options?.signal?.addEventListener('abort', () => call.cancel(), { once: true });
    });
}

function serverStreamingCall(client: Client, method: DescMethod) {
  return (request: unknown, options?: CallOptions) => ({
    async *[Symbol.asyncIterator]() {
      const call: ClientReadableStream<unknown> = client.makeServerStreamRequest(
        methodPath(method),
        serializer(method.input),
        deserializer(method.output),
        create(method.input, request as never),
        metadataOf(options),
        // Streams (watches) are long-lived: only an explicit timeout bounds them.
        grpcOptions(options?.timeoutMs),
      );
      const onAbort = () => call.cancel();
      options?.signal?.addEventListener('abort', onAbort, { once: true });
      try {
        for await (const message of call) yield message;
      } catch (error) {
        throw fromServiceError(error as ServiceError);
      } finally {
        options?.signal?.removeEventListener('abort', onAbort);
        // Leaving the loop early (break/return) must not leave the stream open.
        call.cancel();
      }
    },
  });
}

function bidiStreamingCall(client: Client, method: DescMethod) {
  const path = methodPath(method);
  return (options?: CallOptions): BidiStream<DescMessage, DescMessage> => {
    const call: ClientDuplexStream<
      MessageShape<DescMessage>,
      MessageShape<DescMessage>
    > = client.makeBidiStreamRequest(
      path,
      serializer(method.input),
      deserializer(method.output),
      metadataOf(options),
      // Like server streams, bidi streams are long-lived: only an explicit timeout bounds them.
      grpcOptions(options?.timeoutMs),
    );
    const queue = new MessageQueue<MessageShape<DescMessage>>(call);
    let failure: DeployError | undefined;
    let over = false;
    let halfClosed = false;
    // Listening at once keeps an early failure from becoming an unhandled 'error' event.
    call.on('data', (response: MessageShape<DescMessage>) => queue.push(response));
    call.on('error', (error: Error) => {
      if (failure) return;
      // grpc-js reports the call's status; anything else is the local stream giving up.
      failure =
        typeof (error as Partial<ServiceError>).code === 'number'
          ? fromServiceError(error as ServiceError)
          : new UnavailableError(`${path}: ${error.message}`, { cause: error });
      queue.fail(failure);
    });
    call.on('end', () => queue.end());
    // Sends not yet taken by grpc-js when the call ends must not wait forever.
    const unsent = new Set<(error: DeployError) => void>();
    call.on('status', () => {
      over = true;
      options?.signal?.removeEventListener('abort', onAbort);
      const error = failure ?? new FailedPreconditionError(`${path}: the call has ended`);
      for (const reject of unsent) reject(error);
      unsent.clear();
    });
    const onAbort = () => call.cancel();
    options?.signal?.addEventListener('abort', onAbort, { once: true });

    return {
      send(request) {
        if (over)
          return Promise.reject(
            failure ?? new FailedPreconditionError(`${path}: the call has ended`),
          );
        if (halfClosed)
          return Promise.reject(new FailedPreconditionError(`${path}: send after end()`));
        return new Promise<void>((resolve, reject) => {
          unsent.add(reject);
          call.write(create(method.input, request), (error: Error | null | undefined) => {
            unsent.delete(reject);
            if (!error) resolve();
            else
              reject(
                failure ?? new UnavailableError(`${path}: ${error.message}`, { cause: error }),
              );
          });
        });
      },
      end() {
        if (halfClosed || over) return;
        halfClosed = true;
        call.end();
      },
      responses: {
        async *[Symbol.asyncIterator]() {
          try {
            yield* queue;
          } finally {
            // Leaving the loop early (break/return) must not leave the call open.
            if (!queue.closed) call.cancel();
          }
        },
      },
      cancel() {
        call.cancel();
      },
    };
  };
}
