export { OfflineLlmServer, type OfflineLlmStats } from './offline-llm-server.js';
export { DEFAULT_OPTIONS, MAX_ANSWER_TOKENS, resolveOptions, type OfflineLlmOptions, type PacingOptions, type ResolvedOfflineLlmOptions } from './options.js';
export { OVERRIDE_HEADERS } from './completion-request.js';
export { composeAnswer, composeGroundedAnswer, extractPassages, extractQuestion, OFFLINE_NOTICE, type ContextPassage, type PromptMessage } from './answer-composer.js';
export { tokenize } from './tokenizer.js';
export { paddingSentence } from './answer-padding.js';
export { planToolCalls, type PlannedToolCall } from './tool-calls.js';
