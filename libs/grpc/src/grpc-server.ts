import { type EventEmitter, once } from 'node:events';
import {
  Server,
  ServerCredentials,
  type ServerDuplexStream,
  type ServerUnaryCall,
  type ServerWritableStream,
  type UntypedHandleCall,
  type sendUnaryData,
} from '@grpc/grpc-js';
import {
  create,
  type DescMethod,
  type DescService,
  type MessageInitShape,
} from '@bufbuild/protobuf';
import { InvalidArgumentError, toDeployError, type DeployError } from '@caracal-deploy/errors';

import { MessageQueue } from './message-queue.js';
import type { CallContext, ServiceImpl } from './service-types.js';
import { grpcServiceDefinition, metadataRecord, methodPath, toServiceError } from './wire.js';

/** Where a {@link GrpcServer} reports failures it hides from callers. */
export interface GrpcServerLogger {
  error(message: string, error: unknown): void;
}

/** Options of a {@link GrpcServer}. */
export interface GrpcServerOptions {
  /** `host:port` to bind; port 0 picks a free port (read it back from {@link GrpcServer.listen}). */
  readonly address: string;
  /** Receives internal errors with their cause (callers only see "internal error"). */
  readonly logger?: GrpcServerLogger;
  /** How long {@link GrpcServer.close} waits for in-flight unary calls before cutting them. */
  readonly shutdownGraceMs?: number;
}

type AnyHandler = (request: unknown, context: CallContext) => unknown;

/** What every kind of server call offers: metadata, peer and the `cancelled` event. */
type SurfaceCall = Pick<ServerUnaryCall<unknown, unknown>, 'metadata' | 'getPeer'> &
  Pick<EventEmitter, 'once' | 'off'>;

/**
 * A grpc-js server whose messages are encoded and decoded by the generated
 * protobuf-es schemas, and whose handlers throw the closed {@link DeployError}
 * set. This is the one gRPC path of Caracal Deploy.
 */
export class GrpcServer {
  private readonly server = new Server();
  private readonly inFlight = new Set<AbortController>();
  private boundPort: number | undefined;

  constructor(private readonly options: GrpcServerOptions) {}

  /** Registers the implementation of one generated service. */
  add<S extends DescService>(service: S, implementation: ServiceImpl<S>): this {
    const handlers: Record<string, UntypedHandleCall> = {};
    for (const method of service.methods) {
      const handler = (implementation as Record<string, AnyHandler | undefined>)[method.localName];
      if (typeof handler !== 'function') {
        throw new InvalidArgumentError(`${methodPath(method)} has no handler`);
      }
      const bound = handler.bind(implementation);
      if (method.methodKind === 'unary') handlers[method.localName] = this.unary(method, bound);
      else if (method.methodKind === 'server_streaming')
        handlers[method.localName] = this.serverStreaming(method, bound);
      else if (method.methodKind === 'bidi_streaming')
        handlers[method.localName] = this.bidiStreaming(method, bound);
      else
        throw new InvalidArgumentError(
          `${methodPath(method)}: ${method.methodKind} is not supported`,
        );
    }
    this.server.addService(grpcServiceDefinition(service), handlers);
    return this;
  }

  /** Binds and starts serving; resolves with the bound port. */
  async listen(): Promise<number> {
    this.boundPort = await new Promise<number>((resolve, reject) => {
      this.server.bindAsync(
        this.options.address,
        ServerCredentials.createInsecure(),
        (error, port) => (error ? reject(error) : resolve(port)),
      );
    });
    return this.boundPort;
  }

  /** The port bound by {@link listen}; throws before it. */
  get port(): number {
    if (this.boundPort === undefined) throw new Error('gRPC server is not listening yet');
    return this.boundPort;
  }

  /**
   * Stops accepting calls, cancels open streams (their handlers see an aborted
   * signal), lets unary calls finish for the grace period, then cuts the rest.
   */
  async close(): Promise<void> {
    for (const controller of this.inFlight) controller.abort(new Error('server shutting down'));
    const graceMs = this.options.shutdownGraceMs ?? 5_000;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        this.server.forceShutdown();
        resolve();
      }, graceMs);
      this.server.tryShutdown(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }

  private context(call: SurfaceCall): {
    context: CallContext;
    done: () => void;
  } {
    const controller = new AbortController();
    this.inFlight.add(controller);
    const onCancel = () => controller.abort(new Error('call cancelled by the client'));
    call.once('cancelled', onCancel);
    return {
      context: {
        signal: controller.signal,
        metadata: metadataRecord(call.metadata),
        peer: call.getPeer(),
      },
      done: () => {
        call.off('cancelled', onCancel);
        this.inFlight.delete(controller);
      },
    };
  }

  private failure(method: DescMethod, thrown: unknown): DeployError {
    const error = toDeployError(thrown);
    if (error.code === 'internal')
      this.options.logger?.error(`${methodPath(method)} failed`, thrown);
    return error;
  }

  private unary(method: DescMethod, handler: AnyHandler): UntypedHandleCall {
    return (call: ServerUnaryCall<unknown, unknown>, callback: sendUnaryData<unknown>) => {
      const { context, done } = this.context(call);
      Promise.resolve()
        .then(
          () => handler(call.request, context) as Promise<MessageInitShape<DescMethod['output']>>,
        )
        .then(
          (response) => callback(null, create(method.output, response)),
          (thrown: unknown) => callback(toServiceError(this.failure(method, thrown))),
        )
        .finally(done);
    };
  }

  private serverStreaming(method: DescMethod, handler: AnyHandler): UntypedHandleCall {
    return (call: ServerWritableStream<unknown, unknown>) => {
      const { context, done } = this.context(call);
      void this.pump(method, call, context, () => handler(call.request, context)).finally(done);
    };
  }

  private bidiStreaming(method: DescMethod, handler: AnyHandler): UntypedHandleCall {
    return (call: ServerDuplexStream<unknown, unknown>) => {
      const { context, done } = this.context(call);
      const requests = new MessageQueue<unknown>(call);
      call.on('data', (request: unknown) => requests.push(request));
      call.once('end', () => requests.end());
      // A cancelled call ends the request stream so handlers looping over it return.
      context.signal.addEventListener('abort', () => requests.end(), { once: true });
      void this.pump(method, call, context, () => handler(requests, context)).finally(done);
    };
  }

  /** Writes a handler's responses with backpressure, then ends the call with OK or the error. */
  private async pump(
    method: DescMethod,
    call: ServerWritableStream<unknown, unknown> | ServerDuplexStream<unknown, unknown>,
    context: CallContext,
    start: () => unknown,
  ): Promise<void> {
    try {
      const responses = start() as AsyncIterable<MessageInitShape<DescMethod['output']>>;
      for await (const response of responses) {
        if (context.signal.aborted) break;
        if (!call.write(create(method.output, response))) {
          await once(call, 'drain', { signal: context.signal });
        }
      }
      call.end();
    } catch (thrown: unknown) {
      // A cancelled call has no one left to tell; anything else ends the stream with its status.
      if (!context.signal.aborted) call.emit('error', toServiceError(this.failure(method, thrown)));
      else call.end();
    }
  }
}
