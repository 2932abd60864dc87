export { convergence, retryDelayMs } from './convergence.js';
export type {
  Convergence,
  ConvergenceInput,
  ConvergenceState,
  ReplicaProgress,
  ReplicaReport,
} from './convergence.js';
