import type { DescMessage, DescService, MessageInitShape, MessageShape } from '@bufbuild/protobuf';

/** What a handler learns about the call it serves. */
export interface CallContext {
  /** Aborted when the client cancels, the deadline passes or the server shuts down. */
  readonly signal: AbortSignal;
  /** Request metadata as plain strings (binary `-bin` keys are skipped). */
  readonly metadata: Readonly<Record<string, string>>;
  /** The client's address as grpc-js reports it. */
  readonly peer: string;
}

type MethodShape = { methodKind: string; input: DescMessage; output: DescMessage };

type HandlerFor<M extends MethodShape> = M extends {
  methodKind: 'unary';
  input: infer I extends DescMessage;
  output: infer O extends DescMessage;
}
  ? (request: MessageShape<I>, context: CallContext) => Promise<MessageInitShape<O>>
  : M extends {
        methodKind: 'server_streaming';
        input: infer I extends DescMessage;
        output: infer O extends DescMessage;
      }
    ? (request: MessageShape<I>, context: CallContext) => AsyncIterable<MessageInitShape<O>>
    : never;

/**
 * The server-side implementation of a generated service: one handler per RPC,
 * typed from the protobuf-es descriptor. Unary handlers return a promise; server
 * streaming handlers return an async iterable. Client and bidi streaming are not
 * used by Caracal Deploy and are rejected when a service is registered.
 */
export type ServiceImpl<S extends DescService> = {
  [K in keyof S['method']]: HandlerFor<S['method'][K]>;
};

/** Per-call options on the client side. */
export interface CallOptions {
  /** Milliseconds from now before the call fails with `deadline_exceeded`. */
  readonly timeoutMs?: number;
  /** Cancels the call. */
  readonly signal?: AbortSignal;
  /** Extra request metadata (e.g. `authorization`, `x-request-id`). */
  readonly metadata?: Readonly<Record<string, string>>;
}

type ClientMethodFor<M extends MethodShape> = M extends {
  methodKind: 'unary';
  input: infer I extends DescMessage;
  output: infer O extends DescMessage;
}
  ? (request: MessageInitShape<I>, options?: CallOptions) => Promise<MessageShape<O>>
  : M extends {
        methodKind: 'server_streaming';
        input: infer I extends DescMessage;
        output: infer O extends DescMessage;
      }
    ? (request: MessageInitShape<I>, options?: CallOptions) => AsyncIterable<MessageShape<O>>
    : never;

/** A typed client of a generated service: one method per RPC. */
export type ServiceClient<S extends DescService> = {
  [K in keyof S['method']]: ClientMethodFor<S['method'][K]>;
};
