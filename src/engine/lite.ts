// The part of the engine's public face that loads no onnxruntime and no tokenizer binding: which
// family a config.json belongs to, and the bounded reads of untrusted files. src/hub uses it, and
// src/hub also runs in the extension host, where the engine's native modules must never load.
// index.ts re-exports the family detection and the reads.
export { CheckpointError } from './errors';
export { MAX_BYTES, readInside, resolveInside } from './files';
export { parseJson, parseJsonNonFinite, readJson, utf8 } from './json';
export { detectFamily, familyOf, SUPPORTED_MODEL_TYPES, supportedText } from './families/detect';
