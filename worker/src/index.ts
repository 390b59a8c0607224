export * from './chat-worker.js';
export * from './chunk-coalescer.js';
export * from './content-chunk.js';
export * from './llm-client.js';
export * from './prompt-builder.js';
export * from './turn-processor.js';
export * from './turn-publisher.js';
export * from './context/index.js';
