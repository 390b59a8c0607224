/**
 * `stack/test/faults.test.ts` again on a local Redis Cluster (3 masters, 3 replicas, spawned by the
 * test): one file per suite, so that `pnpm test` runs the cluster variants beside the others.
 */
process.env.TEST_REDIS = 'cluster';
await import('../faults.test.js');
