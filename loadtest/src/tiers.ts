/**
 * The named campaigns of campaigns/chat.yml (its `config.environments`), with what the runner
 * needs to know about each: concurrent users (to size the local stack's worker) and how long
 * the tier holds them (to bound the run).
 */
export interface Tier {
  name: string;
  /** Concurrent users once all have arrived. */
  users: number;
  /** Seconds over which they arrive. */
  rampSeconds: number;
  /** Seconds users keep starting conversations. */
  holdSeconds: number;
}

export const TIERS: readonly Tier[] = [
  { name: 'small', users: 10, rampSeconds: 5, holdSeconds: 30 },
  { name: 'medium', users: 100, rampSeconds: 10, holdSeconds: 60 },
  { name: 'high', users: 500, rampSeconds: 20, holdSeconds: 120 },
  { name: 'extreme', users: 1000, rampSeconds: 30, holdSeconds: 180 },
  { name: '2000', users: 2000, rampSeconds: 40, holdSeconds: 180 },
  { name: 'soak', users: 300, rampSeconds: 30, holdSeconds: 1800 },
];

export function findTier(name: string): Tier | undefined {
  return TIERS.find((tier) => tier.name === name);
}
