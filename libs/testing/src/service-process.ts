import { type ChildProcess, spawn } from 'node:child_process';
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';

import { waitFor } from './wait-for.js';

/** A loopback port nobody listens on right now (the caller's process binds it next). */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** What {@link startServiceProcess} runs and how it knows the service is ready. */
export interface ServiceProcessOptions {
  /** Names the process in errors, e.g. `"sts replica a"`. */
  readonly name: string;
  /** The compiled entry point, e.g. `<repo>/apps/sts/dist/main.js`. */
  readonly main: string;
  /** Added to the test's own environment. */
  readonly env: Readonly<Record<string, string>>;
  /** Resolves to `true` once the service serves (e.g. its gRPC health says SERVING). */
  readonly ready: () => Promise<boolean | undefined>;
  /** How long to wait for readiness; defaults to 30 s. */
  readonly timeoutMs?: number;
}

/** A service running as a child process of the test. */
export interface ServiceProcess {
  readonly name: string;
  readonly pid: number;
  /** Everything the process wrote so far (stdout and stderr, interleaved). */
  output(): string;
  /** True once the process has exited. */
  exited(): boolean;
  /** SIGTERM (a graceful stop) and wait for the exit; a no-op once exited. */
  stop(): Promise<void>;
  /** SIGKILL (a crash: no shutdown hooks run) and wait for the exit. */
  kill(): Promise<void>;
}

/**
 * Starts `node <main>` with `env` and waits until `ready` says it serves. If the
 * process exits first, or readiness times out, it is stopped and the error
 * carries the tail of its output, so a failed boot explains itself.
 */
export async function startServiceProcess(options: ServiceProcessOptions): Promise<ServiceProcess> {
  let output = '';
  const child: ChildProcess = spawn(process.execPath, ['--enable-source-maps', options.main], {
    env: { ...process.env, ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const append = (chunk: Buffer) => {
    output += chunk.toString();
    if (output.length > 200_000) output = output.slice(-100_000);
  };
  child.stdout?.on('data', append);
  child.stderr?.on('data', append);
  const exited = () => child.exitCode !== null || child.signalCode !== null;
  const end = async (signal: NodeJS.Signals) => {
    if (exited()) return;
    const gone = new Promise((resolve) => child.once('exit', resolve));
    child.kill(signal);
    await gone;
  };
  const service: ServiceProcess = {
    name: options.name,
    pid: child.pid ?? -1,
    output: () => output,
    exited,
    stop: () => end('SIGTERM'),
    kill: () => end('SIGKILL'),
  };
  try {
    // The probe answers `false` once the process has exited, which ends the polling at once.
    const ready = await waitFor(
      async () => (exited() ? false : (await options.ready()) === true ? true : undefined),
      { timeoutMs: options.timeoutMs ?? 30_000, description: `${options.name} to be ready` },
    );
    if (!ready) throw new Error(`${options.name} exited (${child.exitCode ?? child.signalCode})`);
  } catch (error) {
    await service.kill();
    throw new Error(
      `${options.name} did not start: ${error instanceof Error ? error.message : String(error)}\n--- output ---\n${output.slice(-4000)}`,
      { cause: error },
    );
  }
  return service;
}
