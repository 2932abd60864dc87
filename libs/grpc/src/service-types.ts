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
    : M extends {
          methodKind: 'bidi_streaming';
          input: infer I extends DescMessage;
          output: infer O extends DescMessage;
        }
      ? (
          requests: AsyncIterable<MessageShape<I>>,
          context: CallContext,
        ) => AsyncIterable<MessageInitShape<O>>
      : never;

/**
 * The server-side implementation of a generated service: one handler per RPC,
 * typed from the protobuf-es descriptor. Unary handlers return a promise; server
 * streaming handlers return an async iterable; bidi streaming handlers read the
 * client's messages from an async iterable and return an async iterable of
 * responses (the call ends with OK when it finishes, with the typed error when
 * it throws). The request iterable ends when the client half-closes or cancels;
 * a cancellation also aborts `context.signal` while the handler runs, so a
 * handler waiting on something else should watch the signal. Client streaming
 * is not used by Caracal Deploy and is rejected when a service is registered.
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
    : M extends {
          methodKind: 'bidi_streaming';
          input: infer I extends DescMessage;
          output: infer O extends DescMessage;
        }
      ? (options?: CallOptions) => BidiStream<I, O>
      : never;

/**
 * The client side of one bidi streaming call, open from the moment the method
 * is called. Send requests with {@link BidiStream.send}, read responses from
 * {@link BidiStream.responses} concurrently, and call {@link BidiStream.end}
 * when there is nothing more to send. Failures arrive as the closed
 * `DeployError` set: from `responses` (the call's status) and from `send` (the
 * call is over).
 *
 * ```ts
 * const stream = client.reportProbes();
 * const reading = (async () => {
 *   for await (const response of stream.responses) handle(response);
 * })();
 * await stream.send({ reports });
 * stream.end();
 * await reading; // resolves when the server ends the call with OK
 * ```
 */
export interface BidiStream<I extends DescMessage, O extends DescMessage> {
  /**
   * Sends one request; resolves once grpc-js has taken it (waiting for the
   * transport to drain when its buffer is full). Rejects when the call already
   * ended, failed or was cancelled.
   */
  send(request: MessageInitShape<I>): Promise<void>;
  /** Half-closes the call: no more requests; responses keep arriving until the server ends. */
  end(): void;
  /**
   * The server's responses, readable once. Ends when the server ends the call
   * with OK; throws the typed error otherwise (`cancelled` after
   * {@link BidiStream.cancel}). Leaving the loop early cancels the call.
   */
  readonly responses: AsyncIterable<MessageShape<O>>;
  /** Cancels the call on both sides (the server's handler sees an aborted signal). */
  cancel(): void;
}

/** A typed client of a generated service: one method per RPC. */
export type ServiceClient<S extends DescService> = {
  [K in keyof S['method']]: ClientMethodFor<S['method'][K]>;
};
