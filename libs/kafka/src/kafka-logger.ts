import { logLevel, type logCreator } from 'kafkajs';

const levelNames: Record<number, string> = {
  [logLevel.ERROR]: 'ERROR',
  [logLevel.WARN]: 'WARN',
  [logLevel.INFO]: 'INFO',
  [logLevel.DEBUG]: 'DEBUG',
};

// KeyedProducer bounds retries on purpose and replaces its producer after a failed
// send, which keeps sequence numbers safe; kafkajs warns about bounded retries anyway.
const expectedWarnings = ['Limiting retries for the idempotent producer'];

/** kafkajs log creator writing one JSON line per entry to stderr, minus warnings this lib has handled. */
export const jsonLogCreator: logCreator =
  () =>
  ({ namespace, level, label, log }) => {
    const { message, ...extra } = log;
    if (level === logLevel.WARN && expectedWarnings.some((text) => message.includes(text))) return;
    process.stderr.write(
      `${JSON.stringify({ level: levelNames[level] ?? label, logger: 'kafkajs', namespace, message, ...extra })}\n`,
    );
  };
