/**
 * For a test file's last teardown: if something still holds the process 10 s later, say what it
 * is and exit with the result tap has already set. A handle left open after every test passed
 * keeps the process alive until tap's timeout kills it, or, when it also keeps tap's root test
 * from ending, for good (seen in CI: socket-chat on a cluster, then SIGALRM; turn-custody on a
 * cluster, every assertion passed, then no exit for minutes). The timer is unref'd: it fires only
 * if something else lingers.
 */
export function exitIfStillAlive(): void {
  setTimeout(() => {
    process.stderr.write(`test process still alive 10 s after its last teardown; open: ${process.getActiveResourcesInfo().join(', ')}\n`);
    process.exit(process.exitCode ?? 0);
  }, 10_000).unref();
}
