/** Injection token of the coordinator's Redis client (outbox publishes, replica status reads). */
export const COORDINATOR_REDIS = Symbol('COORDINATOR_REDIS');
