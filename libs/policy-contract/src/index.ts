export {
  caracalSchemaFiles,
  readCaracalSchema,
  validatePackManifest,
  validatePolicyInput,
  validatePolicyResult,
} from './schema-validators.js';
export type { SchemaError, SchemaValidation } from './schema-validators.js';
