// Test support: a TCP proxy whose server-to-client direction a test can hold,
// so a client's command reaches the server but its reply never comes back.
import { createServer, connect, type Server, type Socket, type AddressInfo } from 'node:net';

/** Proxies loopback connections to `target`; {@link hold} swallows replies from then on. */
export class ReplyGate {
  private held = false;
  private readonly sockets = new Set<Socket>();
  private readonly server: Server;

  constructor(private readonly target: { host: string; port: number }) {
    this.server = createServer((client) => {
      const upstream = connect(this.target.port, this.target.host);
      this.sockets.add(client).add(upstream);
      client.on('data', (chunk) => upstream.write(chunk));
      upstream.on('data', (chunk) => {
        if (!this.held) client.write(chunk);
      });
      const close = () => {
        client.destroy();
        upstream.destroy();
      };
      client.on('error', close).on('close', close);
      upstream.on('error', close).on('close', close);
    });
  }

  /** Binds on loopback; resolves with the port. */
  async listen(): Promise<number> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    return (this.server.address() as AddressInfo).port;
  }

  /** From now on, replies are dropped (requests still reach the server). */
  hold(): void {
    this.held = true;
  }

  /** Closes the proxy and every connection through it. */
  async close(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
