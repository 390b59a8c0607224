export * from './local-stack.js';
export * from './child-process-runner.js';
