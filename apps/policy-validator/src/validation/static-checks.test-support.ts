import { scanRego } from './rego-lexer.js';
import type { PolicyData, PolicyModule } from './validation-model.js';

/** A module as the pipeline reads it. */
export function regoModule(path: string, source: string): PolicyModule {
  return { path, source, scanned: scanRego(source), isTest: path.endsWith('_test.rego') };
}

/** A data document as the pipeline reads it; `text` defaults to pretty JSON of `value`. */
export function dataDocument(
  path: string,
  value: unknown,
  text = JSON.stringify(value, null, 2),
): PolicyData {
  return { path, text, value, mount: path.split('/').slice(0, -1) };
}
