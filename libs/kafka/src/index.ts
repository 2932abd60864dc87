export {
  clientRetryDefaults,
  createKafka,
  producerDefaults,
  sendDefaults,
} from './kafka.options.js';
export type { KafkaClientOptions } from './kafka.options.js';
export { jsonLogCreator } from './kafka-logger.js';
export { KeyedProducer } from './keyed-producer.js';
export type { KeyedMessage, KeyedProducerOptions } from './keyed-producer.js';
export { readTopicRange, readTopicRangeBatches } from './topic-range-reader.js';
export type { RangeMessage, TopicRangeOptions } from './topic-range-reader.js';
