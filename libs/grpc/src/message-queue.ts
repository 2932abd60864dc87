/** The source a {@link MessageQueue} can pause while its reader falls behind. */
export interface PausableSource {
  pause(): unknown;
  resume(): unknown;
}

/**
 * A single-reader queue between a grpc-js stream's events and an async
 * iterator. It listens from the moment it is made, so an error that arrives
 * before anyone iterates is kept (not thrown as an unhandled `error` event),
 * and it pauses the source while more than `highWaterMark` messages wait.
 */
export class MessageQueue<T> implements AsyncIterable<T> {
  private readonly items: T[] = [];
  private waiter: (() => void) | undefined;
  private ended = false;
  private failure: { error: unknown } | undefined;
  private paused = false;
  private iterated = false;

  constructor(
    private readonly source: PausableSource,
    private readonly highWaterMark = 64,
  ) {}

  /**
   * Adds a message (the stream's `data` event). grpc-js may deliver messages
   * it buffered after announcing the call's error; they arrived first, so the
   * reader still gets them before the error.
   */
  push(item: T): void {
    this.items.push(item);
    if (this.items.length >= this.highWaterMark && !this.paused) {
      this.paused = true;
      this.source.pause();
    }
    this.wake();
  }

  /** No more messages: the reader finishes once the queue is drained. */
  end(): void {
    this.ended = true;
    this.wake();
  }

  /** The stream failed: the reader gets the queued messages, then this error. */
  fail(error: unknown): void {
    if (this.ended || this.failure) return;
    this.failure = { error };
    this.wake();
  }

  /** True once {@link end} or {@link fail} was called. */
  get closed(): boolean {
    return this.ended || this.failure !== undefined;
  }

  async *[Symbol.asyncIterator](): AsyncGenerator<T, void, undefined> {
    if (this.iterated) throw new Error('a gRPC message stream can be read only once');
    this.iterated = true;
    for (;;) {
      const item = this.items.shift();
      if (item !== undefined) {
        if (this.paused && this.items.length < this.highWaterMark / 2) {
          this.paused = false;
          this.source.resume();
        }
        yield item;
        continue;
      }
      if (this.failure) throw this.failure.error;
      if (this.ended) return;
      await new Promise<void>((resolve) => (this.waiter = resolve));
    }
  }

  private wake(): void {
    const waiter = this.waiter;
    this.waiter = undefined;
    waiter?.();
  }
}
