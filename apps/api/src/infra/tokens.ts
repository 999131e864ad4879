/** Injection tokens of the infrastructure the API is built on. */
export const API_CONFIG = Symbol('API_CONFIG');
export const BLOB_STORE = Symbol('BLOB_STORE');
