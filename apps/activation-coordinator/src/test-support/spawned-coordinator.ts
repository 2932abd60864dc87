// Test support: the coordinator as a separate process, so a test can kill it outright.
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';

const main = fileURLToPath(new URL('../main.js', import.meta.url));

/** A coordinator process started by the test. */
export class SpawnedCoordinator {
  private output = '';

  private constructor(private readonly child: ChildProcess) {
    child.stdout?.on('data', (chunk: Buffer) => (this.output += chunk.toString('utf8')));
    child.stderr?.on('data', (chunk: Buffer) => (this.output += chunk.toString('utf8')));
  }

  /** Starts `dist/main.js` with `env` and waits until its gRPC server is serving. */
  static async start(env: Readonly<Record<string, string>>): Promise<SpawnedCoordinator> {
    const child = spawn(process.execPath, [main], {
      env: { ...process.env, NO_COLOR: '1', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const spawned = new SpawnedCoordinator(child);
    const deadline = Date.now() + 30_000;
    while (!/serving caracal\.deploy\.v1\.ActivationService/.test(spawned.output)) {
      if (child.exitCode !== null || Date.now() > deadline)
        throw new Error(`coordinator did not start:\n${spawned.output}`);
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
    return spawned;
  }

  /** Everything the process printed so far. */
  get log(): string {
    return this.output;
  }

  /** Kills the process with SIGKILL (no shutdown hooks run) and waits for it to exit. */
  async kill(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    const exited = once(this.child, 'exit');
    this.child.kill('SIGKILL');
    await exited;
  }
}
