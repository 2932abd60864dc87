// Test support: a real STS replica process (apps/sts/dist/main.js), configured by env.
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';

const main = fileURLToPath(new URL('../../../sts/dist/main.js', import.meta.url));

/** An STS process started by a test or benchmark. */
export class SpawnedSts {
  private output = '';

  private constructor(
    readonly replicaId: string,
    private readonly child: ChildProcess,
  ) {
    child.stdout?.on('data', (chunk: Buffer) => (this.output += chunk.toString('utf8')));
    child.stderr?.on('data', (chunk: Buffer) => (this.output += chunk.toString('utf8')));
  }

  /** Starts the process; readiness is the caller's to judge (e.g. its first status report). */
  static start(replicaId: string, env: Readonly<Record<string, string>>): SpawnedSts {
    const child = spawn(process.execPath, [main], {
      env: { ...process.env, NO_COLOR: '1', CARACAL_STS_REPLICA_ID: replicaId, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    return new SpawnedSts(replicaId, child);
  }

  /** Everything the process printed so far. */
  get log(): string {
    return this.output;
  }

  /** Sends `signal` to the process (e.g. SIGSTOP and SIGCONT to freeze and thaw it). */
  signal(signal: NodeJS.Signals): void {
    this.child.kill(signal);
  }

  /** Stops the process (SIGTERM, then SIGKILL after `graceMs`) and waits for it to exit. */
  async stop(graceMs = 10_000): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    const exited = once(this.child, 'exit');
    this.child.kill('SIGTERM');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), graceMs);
    await exited;
    clearTimeout(timer);
  }
}
