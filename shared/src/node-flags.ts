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
 *
 * `--always-sparkplug`: a function gets V8's baseline (Sparkplug) code when it is first compiled
 * instead of running in the bytecode interpreter until it has been called often enough. A turn's
 * own steps (accept, head check, prompt, cache key) run once per turn: at low load they never get
 * hot, and in the interpreter each cost two to three times what it does at 100 sessions. With
 * the flag, at one chatting session the first token came 0.3–0.8 ms sooner at the median
 * (4.0–4.4 against 4.7–4.8 ms added) and a token cost the service 12 % less CPU; at 100 sessions
 * no difference either way (hot code is optimised by TurboFan whatever the first tier). The
 * cost: start-up compiles every function it runs to baseline code, ~100–200 ms more CPU to
 * ready, and the worker's resident memory is 7–15 MiB higher (docs/performance.md, round 17).
 */
export const SERVICE_NODE_FLAGS: readonly string[] = Object.freeze(['--no-memory-reducer', '--always-sparkplug']);
