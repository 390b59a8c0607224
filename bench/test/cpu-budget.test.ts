/** What a rate target leaves the service on a box: the arithmetic the turn-rate verdict reports. */
import t from 'tap';
import { describeServiceBudget, serviceBudget } from '../src/cpu-budget.js';
import { renderScenario, type ScenarioReport } from '../src/report.js';

t.test('the box gives cores × 1000 / rate ms per turn; the model and load clients take theirs first', async (t) => {
  const budget = serviceBudget(2000, 2, 0.49);
  t.same(budget, { turnsPerSecond: 2000, cores: 2, boxMsPerTurn: 1, othersMsPerTurn: 0.49, serviceMsPerTurn: 0.51 });
  t.equal(serviceBudget(1000, 4, 0).serviceMsPerTurn, 4, 'nothing else on the box: all of it');
  t.equal(describeServiceBudget(budget), "at 2000 turns/s this box's 2 cores give 1 ms of CPU per turn; the model and load clients took 0.49 of it here: 0.51 ms is left for the service");
});

t.test('a box whose model and clients alone fill it at the rate leaves nothing, and says so', async (t) => {
  const budget = serviceBudget(2000, 2, 1.3);
  t.equal(budget.serviceMsPerTurn, -0.3);
  t.match(describeServiceBudget(budget), /nothing is left for the service$/);
});

t.test('a rate, core count or CPU figure that cannot be is refused rather than turned into a budget', async (t) => {
  t.throws(() => serviceBudget(0, 2, 0.5), RangeError);
  t.throws(() => serviceBudget(2000, 0, 0.5), RangeError);
  t.throws(() => serviceBudget(2000, 2, -1), RangeError);
  t.throws(() => serviceBudget(2000, 2, Number.NaN), RangeError);
});

t.test('the printed verdict says whether the floor meets the target, and nothing when the run had no floor', async (t) => {
  const scenario = (floorMet?: boolean | null): ScenarioReport => ({
    scenario: 'x',
    title: 'x',
    parameters: {},
    stacks: [],
    steps: [],
    table: { columns: ['a'], rows: [] },
    targets: [{ name: 'time added', target: 'p50 ≤ 2 ms', measured: 'p50 5 ms', met: false, ...(floorMet === undefined ? {} : { floorMet }) }],
    notes: [],
  });
  t.match(renderScenario(scenario(false)), /\[MISS\] time added: .*\n +the floor misses it too: out of reach on this box/);
  t.match(renderScenario(scenario(true)), /\[MISS\] time added: .*\n +the floor meets it: within reach on this box/);
  t.notMatch(renderScenario(scenario()), /the floor/);
  const metByService = scenario(false);
  metByService.targets[0]!.met = true;
  t.match(renderScenario(metByService), /\[MET \] time added: .*\n +the floor misses it in this run$/m, 'a target the service met is not called out of reach');
  t.notMatch(renderScenario(scenario(null)), /the floor/, 'no floor figure for it: nothing said');
});
