import { gunzipSync } from 'node:zlib';

import { InvalidArgumentError } from '@caracal-deploy/errors';

/** The `.manifest` of an OPA bundle (fields this project uses). */
export interface BundleManifest {
  /** Bundle revision; this project sets it to the policy-set manifest sha256. */
  readonly revision?: string;
  /** Data/policy paths the bundle owns. */
  readonly roots?: readonly string[];
  /** Compiled modules and the entrypoints each one serves. */
  readonly wasm?: readonly { readonly entrypoint: string; readonly module: string }[];
  readonly rego_version?: number;
  readonly metadata?: Readonly<Record<string, unknown>>;
}

/** The parts of a wasm bundle an evaluator needs, plus every file for inspection. */
export interface OpaBundle {
  /** The compiled policy (`policy.wasm`, or the module the manifest names). */
  readonly wasm: Uint8Array;
  /** The data document: every `data.json` merged at its directory path. */
  readonly data: unknown;
  /** Parsed `.manifest`; `{}` when the bundle has none. */
  readonly manifest: BundleManifest;
  /** Every regular file by path without the leading `/`, e.g. `policy.wasm`, `authz/authz.rego`. */
  readonly files: ReadonlyMap<string, Uint8Array>;
}

/**
 * Parses an OPA bundle (`bundle.tar.gz` as written by `opa build -t wasm`) in memory:
 * gunzip, a small ustar reader, then manifest, merged data and wasm module.
 * Throws {@link InvalidArgumentError} for anything that is not such a bundle.
 */
export function readBundle(bytes: Uint8Array): OpaBundle {
  let tar: Buffer;
  try {
    tar = gunzipSync(bytes);
  } catch (error) {
    throw notABundle(`not gzip data (${error instanceof Error ? error.message : String(error)})`);
  }
  const files = readTar(tar);

  const manifestBytes = files.get('.manifest');
  const manifest =
    manifestBytes === undefined ? {} : (parseJson('.manifest', manifestBytes) as BundleManifest);

  const modules = [...new Set((manifest.wasm ?? []).map((entry) => normalize(entry.module)))];
  if (modules.length > 1) {
    throw notABundle(
      `it holds ${modules.length} wasm modules (${modules.join(', ')}); expected one`,
    );
  }
  const modulePath = modules[0] ?? 'policy.wasm';
  const wasm = files.get(modulePath);
  if (wasm === undefined) {
    throw notABundle(
      `it has no ${modulePath}; build it with \`opa build -t wasm -e <entrypoint>\``,
    );
  }

  let data: Record<string, unknown> = {};
  for (const [path, content] of files) {
    if (path !== 'data.json' && !path.endsWith('/data.json')) continue;
    const segments = path.split('/').slice(0, -1);
    data = mergeAt(data, segments, parseJson(path, content));
  }
  return { wasm, data, manifest, files };
}

const blockSize = 512;

function readTar(tar: Buffer): Map<string, Uint8Array> {
  const files = new Map<string, Uint8Array>();
  let offset = 0;
  let longName: string | undefined;
  while (offset + blockSize <= tar.length) {
    const header = tar.subarray(offset, offset + blockSize);
    // Two zero blocks end the archive; one is enough to stop reading.
    if (header.every((byte) => byte === 0)) break;
    verifyChecksum(header, offset);
    const size = octal(header, 124, 12, offset);
    const type = String.fromCharCode(header[156] ?? 0);
    const bodyStart = offset + blockSize;
    const body = tar.subarray(bodyStart, bodyStart + size);
    if (body.length < size) throw notABundle(`tar entry at byte ${offset} is truncated`);
    offset = bodyStart + Math.ceil(size / blockSize) * blockSize;

    if (type === 'x') {
      // PAX header: only `path` matters for reading a bundle.
      longName = paxPath(body) ?? longName;
      continue;
    }
    if (type === 'L') {
      longName = cString(body, 0, body.length);
      continue;
    }
    if (type === 'g') continue;
    const name = longName ?? ustarName(header);
    longName = undefined;
    if (type === '0' || type === '\0') files.set(normalize(name), new Uint8Array(body));
  }
  return files;
}

function ustarName(header: Buffer): string {
  const name = cString(header, 0, 100);
  const isUstar = header.subarray(257, 262).toString('latin1') === 'ustar';
  const prefix = isUstar ? cString(header, 345, 155) : '';
  return prefix === '' ? name : `${prefix}/${name}`;
}

function verifyChecksum(header: Buffer, offset: number): void {
  const expected = octal(header, 148, 8, offset);
  let sum = 0;
  for (let i = 0; i < blockSize; i += 1) sum += i >= 148 && i < 156 ? 0x20 : (header[i] ?? 0);
  if (sum !== expected) throw notABundle(`tar header at byte ${offset} has a bad checksum`);
}

function octal(header: Buffer, start: number, length: number, offset: number): number {
  if (((header[start] ?? 0) & 0x80) !== 0) {
    throw notABundle(`tar entry at byte ${offset} uses base-256 sizes, which bundles never need`);
  }
  const text = cString(header, start, length).trim();
  const value = text === '' ? 0 : Number.parseInt(text, 8);
  if (!Number.isSafeInteger(value)) throw notABundle(`tar header at byte ${offset} is malformed`);
  return value;
}

function cString(buffer: Buffer, start: number, length: number): string {
  const field = buffer.subarray(start, start + length);
  const end = field.indexOf(0);
  return field.subarray(0, end === -1 ? field.length : end).toString('utf8');
}

function paxPath(body: Buffer): string | undefined {
  // Records are "<length> <key>=<value>\n".
  let path: string | undefined;
  let position = 0;
  while (position < body.length) {
    const space = body.indexOf(0x20, position);
    if (space === -1) break;
    const length = Number.parseInt(body.subarray(position, space).toString('latin1'), 10);
    if (!Number.isSafeInteger(length) || length <= 0) break;
    const record = body.subarray(space + 1, position + length - 1).toString('utf8');
    const equals = record.indexOf('=');
    if (record.slice(0, equals) === 'path') path = record.slice(equals + 1);
    position += length;
  }
  return path;
}

function normalize(path: string): string {
  return path.replace(/^(\.\/|\/)+/, '');
}

function parseJson(path: string, bytes: Uint8Array): unknown {
  try {
    return JSON.parse(Buffer.from(bytes).toString('utf8'));
  } catch (error) {
    throw notABundle(
      `${path} is not valid JSON (${error instanceof Error ? error.message : String(error)})`,
    );
  }
}

function mergeAt(
  target: Record<string, unknown>,
  path: readonly string[],
  value: unknown,
): Record<string, unknown> {
  if (path.length === 0) {
    if (!isObject(value)) throw notABundle('the root data.json must hold an object');
    return deepMerge(target, value);
  }
  const [head = '', ...rest] = path;
  const child = isObject(target[head]) ? target[head] : {};
  return {
    ...target,
    [head]: rest.length === 0 && !isObject(value) ? value : mergeAt(child, rest, value),
  };
}

function deepMerge(
  a: Record<string, unknown>,
  b: Record<string, unknown>,
): Record<string, unknown> {
  const merged: Record<string, unknown> = { ...a };
  for (const [key, value] of Object.entries(b)) {
    const existing = merged[key];
    merged[key] = isObject(existing) && isObject(value) ? deepMerge(existing, value) : value;
  }
  return merged;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function notABundle(reason: string): InvalidArgumentError {
  return new InvalidArgumentError(`not a readable OPA wasm bundle: ${reason}`, {
    violations: [{ field: 'bundle', problem: reason }],
  });
}
