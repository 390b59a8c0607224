export * from './language.js';
export * from './english-only-notice.js';
export * from './query-glossary.js';
export * from './follow-up.js';
export * from './handoff-request.js';
export * from './section-slug.js';
