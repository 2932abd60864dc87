export { OutboxDispatcher, deadLetterStream } from './outbox-dispatcher.js';
export type { OutboxDispatcherOptions, OutboxEvents } from './outbox-dispatcher.js';
export { outboxMigration } from './outbox.migration.js';
export type { InvalidationOutboxTable, OutboxDatabase } from './outbox.migration.js';
