export { PolicySync } from './policy-sync.js';
export type {
  ActiveBindingReader,
  BindingTarget,
  PolicySyncEvents,
  PolicySyncOptions,
  SyncTrigger,
} from './policy-sync.js';
