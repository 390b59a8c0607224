/**
 * Preloaded into every test process (.taprc `node-arg`): the processes a test starts — gateways,
 * workers, the offline model, load clients — run as they run deployed, without tap's
 * per-process bookkeeping.
 *
 * tap puts `@tapjs/processinfo` into each test process and, through `process-on-spawn`, into the
 * NODE_OPTIONS of every child that process spawns, whatever env the child is given. It records
 * which files each process loads (for coverage and `tap --changed`, neither of which this suite
 * uses) through a module-loader thread that reads every loaded file again. In a child that is
 * about 1 s of CPU per start-up, and it roughly doubled a worker's start in the fault suites.
 * The test process keeps it (tap adds it before this module runs); only what it would pass on
 * to children is removed here.
 */
const SPAWN_HOOKS = Symbol.for('process-on-spawn@*:singletonId');

/** process-on-spawn keeps its listeners in one global, shared by every copy of the package. */
const spawnHooks = globalThis[SPAWN_HOOKS];
if (spawnHooks && Array.isArray(spawnHooks.listeners)) spawnHooks.listeners = [];

const inherited = (process.env.NODE_OPTIONS ?? '')
  .split(/\s+/)
  .filter((option) => option !== '' && !option.includes('@tapjs/processinfo'));
if (inherited.length > 0) process.env.NODE_OPTIONS = inherited.join(' ');
else delete process.env.NODE_OPTIONS;
