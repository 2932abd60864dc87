export { loadEs256KeyFile } from './es256-key-file.js';
export type { Es256KeyFileOptions, Es256KeyPair } from './es256-key-file.js';
