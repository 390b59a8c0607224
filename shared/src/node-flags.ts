/**
 * Node flags every gateway and worker process starts with: on the command line (V8 flags are
 * refused in NODE_OPTIONS), by the start command (stack/src/local-stack.ts) and the images'
 * CMD (deploy/docker/Dockerfile; a test holds the two equal).
 *
 * `--no-memory-reducer`: V8 shrinks the heap when a process's allocation rate drops, with up to
 * three full collections in a row of 14–44 ms each, plus marking steps of up to 18 ms. In a
 * service they fall on the first turns after every lull; at one chatting session they were the
 * first token's worst (19–57 ms with the reducer, 15–30 without; stalls of up to 75 ms gone;
 * docs/performance.md, round 9).
 * The cost: a quiet process keeps the heap it grew under load (~20 MB here) instead of giving
 * it back, which a pod sized for its load has anyway.
 */
export const SERVICE_NODE_FLAGS: readonly string[] = Object.freeze(['--no-memory-reducer']);
