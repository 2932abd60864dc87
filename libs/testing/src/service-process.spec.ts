import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createConnection } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';

import { freePort, startServiceProcess } from './service-process.js';

const dir = mkdtempSync(join(tmpdir(), 'service-process-'));
const listener = join(dir, 'listener.mjs');
writeFileSync(
  listener,
  `import { createServer } from 'node:net';
console.log('booting');
setTimeout(() => createServer((s) => s.end()).listen(Number(process.env.PORT), '127.0.0.1'), 200);
process.on('SIGTERM', () => { console.log('graceful stop'); process.exit(0); });`,
);
const crasher = join(dir, 'crasher.mjs');
writeFileSync(crasher, `console.error('config error: PORT is not set'); process.exit(3);`);

const accepts = (port: number) =>
  new Promise<boolean>((resolve) => {
    const socket = createConnection({ port, host: '127.0.0.1' });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });

describe('startServiceProcess', () => {
  it('waits for readiness, keeps the output, and stops gracefully', async () => {
    const port = await freePort();
    const service = await startServiceProcess({
      name: 'listener',
      main: listener,
      env: { PORT: String(port) },
      ready: () => accepts(port),
    });
    assert.equal(await accepts(port), true);
    assert.match(service.output(), /booting/);
    await service.stop();
    assert.equal(service.exited(), true);
    assert.match(service.output(), /graceful stop/);
  });

  it('fails with the process output when it exits before it is ready', async () => {
    await assert.rejects(
      startServiceProcess({
        name: 'crasher',
        main: crasher,
        env: {},
        ready: () => Promise.resolve(false),
      }),
      (error: Error) =>
        /crasher did not start: .*crasher exited \(3\)/s.test(error.message) &&
        error.message.includes('config error: PORT is not set'),
    );
  });

  it('kills a process that never becomes ready', async () => {
    await assert.rejects(
      startServiceProcess({
        name: 'never ready',
        main: listener,
        env: { PORT: String(await freePort()) },
        ready: () => Promise.resolve(false),
        timeoutMs: 500,
      }),
      /never ready did not start: timed out/,
    );
  });
});
