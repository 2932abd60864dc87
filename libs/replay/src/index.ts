export { replayDecisions } from './replay-engine.js';
export type { ReplayOptions, ReplayProgress, ReplayResult } from './replay-engine.js';
