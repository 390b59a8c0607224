/**
 * What a rate target leaves the service on the box that measures it. At `turnsPerSecond` the
 * box's cores give `cores × 1000 / turnsPerSecond` ms of CPU per turn in all; the bench's own
 * processes on the same cores (the offline model, the load clients) take theirs first. What is
 * left is the most the service's processes (gateways, workers, Redis) may cost a turn for the box
 * to reach the rate at all: how far a box is from a rate target, said in the unit the service's
 * own work is measured in (CPU per turn). The model's and clients' cost per turn falls as the rate
 * rises, so a budget from a slower step is the smaller bound (the turn-rate scenario gives both).
 */
export interface ServiceBudget {
  turnsPerSecond: number;
  cores: number;
  /** CPU per turn the whole box has at that rate, ms. */
  boxMsPerTurn: number;
  /** Taken per turn by the bench's own processes at the step measured (model, load clients), ms. */
  othersMsPerTurn: number;
  /** Left for the service per turn, ms; zero or less: the model and clients alone fill the box. */
  serviceMsPerTurn: number;
}

export function serviceBudget(turnsPerSecond: number, cores: number, othersMsPerTurn: number): ServiceBudget {
  if (!(turnsPerSecond > 0) || !(cores > 0) || !(othersMsPerTurn >= 0)) {
    throw new RangeError(`serviceBudget: a positive rate and core count and a non-negative CPU per turn are needed (got ${turnsPerSecond}, ${cores}, ${othersMsPerTurn})`);
  }
  const boxMsPerTurn = (cores * 1000) / turnsPerSecond;
  return { turnsPerSecond, cores, boxMsPerTurn: round2(boxMsPerTurn), othersMsPerTurn: round2(othersMsPerTurn), serviceMsPerTurn: round2(boxMsPerTurn - othersMsPerTurn) };
}

/** `at 2000 turns/s this box's 2 cores give 1 ms of CPU per turn; the model and load clients took 0.49 of it here: 0.51 ms is left for the service` */
export function describeServiceBudget(budget: ServiceBudget): string {
  const left = budget.serviceMsPerTurn > 0 ? `${budget.serviceMsPerTurn} ms is left for the service` : 'nothing is left for the service';
  return `at ${budget.turnsPerSecond} turns/s this box's ${budget.cores} cores give ${budget.boxMsPerTurn} ms of CPU per turn; the model and load clients took ${budget.othersMsPerTurn} of it here: ${left}`;
}

function round2(value: number): number {
  return Math.round(value * 100) / 100;
}
