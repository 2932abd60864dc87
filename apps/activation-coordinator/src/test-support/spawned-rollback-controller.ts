// Test support: the real rollback controller (apps/rollback-controller/dist/main.js)
// as a separate process, on ephemeral ports, with its own database.
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';

import { freePort } from './private-redis.js';

const main = fileURLToPath(new URL('../../../rollback-controller/dist/main.js', import.meta.url));

/** A rollback controller process started by the test. */
export class SpawnedRollbackController {
  private output = '';

  private constructor(
    readonly address: string,
    private readonly child: ChildProcess,
  ) {
    child.stdout?.on('data', (chunk: Buffer) => (this.output += chunk.toString('utf8')));
    child.stderr?.on('data', (chunk: Buffer) => (this.output += chunk.toString('utf8')));
  }

  /**
   * Starts the controller against `postgresUrl` (an empty database it migrates) and the
   * coordinator at `coordinatorAddress`; resolves once its gRPC server serves.
   */
  static async start(
    postgresUrl: string,
    coordinatorAddress: string,
  ): Promise<SpawnedRollbackController> {
    const address = `127.0.0.1:${await freePort()}`;
    const child = spawn(process.execPath, [main], {
      env: {
        ...process.env,
        NO_COLOR: '1',
        CARACAL_ROLLBACK_POSTGRES_URL: postgresUrl,
        // The test created the (empty) database; the controller migrates it.
        CARACAL_ROLLBACK_CREATE_DATABASE: 'false',
        CARACAL_COORDINATOR_GRPC_ADDRESS: coordinatorAddress,
        CARACAL_ROLLBACK_GRPC_ADDRESS: address,
        CARACAL_ROLLBACK_HTTP_PORT: String(await freePort()),
        CARACAL_ROLLBACK_METRICS_PORT: String(await freePort()),
        CARACAL_ROLLBACK_WEBHOOK_TOKEN: 'deployment-e2e-webhook-token',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const spawned = new SpawnedRollbackController(address, child);
    const deadline = Date.now() + 30_000;
    // Its health check also reports the coordinator, which may start after it.
    while (!/serving caracal\.deploy\.v1\.RollbackService/.test(spawned.output)) {
      if (child.exitCode !== null || Date.now() > deadline) {
        child.kill('SIGKILL');
        throw new Error(`rollback controller did not start:\n${spawned.output}`);
      }
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
    return spawned;
  }

  /** Everything the process printed so far. */
  get log(): string {
    return this.output;
  }

  /** Stops the process with SIGTERM and waits for it to exit. */
  async stop(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    const exited = once(this.child, 'exit');
    this.child.kill('SIGTERM');
    await exited;
  }
}
