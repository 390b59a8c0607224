/** `pnpm bench` and the resubscribe probe write into a git-ignored folder unless told otherwise. */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import t from 'tap';
import { DEFAULT_OUT_DIR } from '../src/bench-options.js';
import { REPO_ROOT } from '../src/machine.js';

t.test('the default report folder is ignored by git, so a run never overwrites committed figures', async (t) => {
  const dir = join(REPO_ROOT, ...DEFAULT_OUT_DIR);
  t.notMatch(dir, /docs/, 'not under docs/');
  const ignored = spawnSync('git', ['check-ignore', '-q', join(dir, 'bench-overhead.json')], { cwd: REPO_ROOT });
  t.equal(ignored.status, 0, `${dir} is git-ignored`);
});
