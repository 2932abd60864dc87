export {
  auditEvent,
  auditTopic,
  decisionLogJson,
  decisionLogRecord,
  decisionLogTopic,
  maskInput,
} from './decision-events.js';
export type { DecisionFacts } from './decision-events.js';
export { DecisionEventPublisher } from './decision-event-publisher.js';
export type { DecisionEventPublisherOptions, PublisherEvents } from './decision-event-publisher.js';
export { ProducerWorkerError, ThreadedKeyedProducer } from './threaded-keyed-producer.js';
