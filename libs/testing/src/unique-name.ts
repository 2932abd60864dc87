import { randomBytes } from 'node:crypto';

let counter = 0;

/**
 * A name no other test (in this or any concurrent process) will get:
 * `<prefix>_<time>_<random>_<n>`, lowercase letters, digits and `_` only, so it is
 * valid unquoted as a Kafka topic, a Redis key and a PostgreSQL identifier.
 */
export function uniqueName(prefix: string): string {
  if (!/^[a-z][a-z0-9_]{0,29}$/.test(prefix)) {
    throw new Error(
      `uniqueName prefix must match /^[a-z][a-z0-9_]{0,29}$/ so the name stays a valid topic, key and identifier; got ${JSON.stringify(prefix)}`,
    );
  }
  counter += 1;
  const time = Date.now().toString(36);
  const random = randomBytes(5).toString('hex');
  return `${prefix}_${time}_${random}_${counter.toString(36)}`;
}
