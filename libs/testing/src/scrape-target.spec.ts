import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';

import { registerScrapeTarget } from './scrape-target.js';

describe('registerScrapeTarget', () => {
  it('puts a complete file_sd document in place, leaves nothing partial, and removes it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'scrape-target-'));
    const target = await registerScrapeTarget(
      { prometheusTargetsDir: dir },
      'sts-a',
      ['127.0.0.1:9480', '127.0.0.1:9481'],
      { zone: 'demo' },
    );
    assert.deepEqual(readdirSync(dir), ['sts-a.json']);
    assert.deepEqual(JSON.parse(readFileSync(target.file, 'utf8')), [
      { targets: ['127.0.0.1:9480', '127.0.0.1:9481'], labels: { zone: 'demo' } },
    ]);
    await target.remove();
    assert.equal(existsSync(target.file), false);
  });
});
