import { gzipSync } from 'node:zlib';

/** One archive entry for {@link ustarGz}: the name as written, an optional ustar prefix field. */
export interface TarEntry {
  readonly name: string;
  readonly content: string | Uint8Array;
  readonly prefix?: string;
}

/** Writes `entries` as a gzipped ustar archive, names exactly as given (test support). */
export function ustarGz(entries: Iterable<TarEntry>): Buffer {
  const blocks: Buffer[] = [];
  for (const { name, content, prefix = '' } of entries) {
    const body = Buffer.from(content);
    const header = Buffer.alloc(512);
    header.write(name, 0, 100, 'utf8');
    header.write('0000644\0', 100, 'latin1');
    header.write('0000000\0', 108, 'latin1');
    header.write('0000000\0', 116, 'latin1');
    header.write(`${body.length.toString(8).padStart(11, '0')}\0`, 124, 'latin1');
    header.write('00000000000\0', 136, 'latin1');
    header.write('        ', 148, 'latin1');
    header.write('0', 156, 'latin1');
    header.write('ustar\0', 257, 'latin1');
    header.write('00', 263, 'latin1');
    header.write(prefix, 345, 155, 'utf8');
    let sum = 0;
    for (const byte of header) sum += byte;
    header.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 'latin1');
    blocks.push(header, body, Buffer.alloc((512 - (body.length % 512)) % 512));
  }
  blocks.push(Buffer.alloc(1024));
  return gzipSync(Buffer.concat(blocks));
}

/** Writes `files` the way OPA lays out a bundle archive (each name with a leading `/`). */
export function tarGz(
  files: ReadonlyMap<string, Uint8Array> | Iterable<[string, Uint8Array]>,
): Buffer {
  return ustarGz(Array.from(files, ([name, content]) => ({ name: `/${name}`, content })));
}
