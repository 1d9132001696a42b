// Diun's rule for metadata keys, shared by `defaults.metadata` (schema.ts) and the
// `diun.metadata.*` labels (labels.ts), so both say the same thing about a bad key.

/** A metadata key Diun accepts: letters, digits and `_` only. */
export const METADATA_KEY = /^[a-zA-Z0-9_]+$/;

/** What is said about a metadata key that breaks METADATA_KEY. */
export const METADATA_KEY_PROBLEM = 'metadata keys may only contain letters, digits and _';
