/**
 * The runner's tier table (loadtest/src/tiers.ts: users, ramp and hold, used to size the local
 * stack) and the campaign's environments (campaigns/chat.yml: what Artillery runs) must say the
 * same thing, and every tier must refuse anything below 100 % success.
 */
import { readFileSync } from 'node:fs';
import t from 'tap';
import { parse } from 'yaml';
import { TIERS } from '../src/tiers.js';

interface Environment {
  phases: Array<{ duration: number; arrivalCount: number }>;
  variables: { holdSeconds: number };
  ensure: { thresholds: Array<Record<string, number>>; conditions: Array<{ expression: string }> };
}
const campaign = parse(readFileSync(new URL('../campaigns/chat.yml', import.meta.url), 'utf8')) as { config: { environments: Record<string, Environment> } };
const environments = campaign.config.environments;

t.same(Object.keys(environments).sort(), TIERS.map((tier) => tier.name).sort(), 'the same tiers in both');
for (const tier of TIERS) {
  t.test(tier.name, async (t) => {
    const env = environments[tier.name]!;
    t.equal(env.phases.reduce((n, p) => n + p.arrivalCount, 0), tier.users, 'users');
    t.equal(env.phases.reduce((n, p) => n + p.duration, 0), tier.rampSeconds, 'ramp');
    t.equal(env.variables.holdSeconds, tier.holdSeconds, 'hold');
    const conditions = env.ensure.conditions.map((c) => c.expression);
    t.ok(conditions.includes('chat.turns.sent > 0 and chat.turns.completed == chat.turns.sent'), 'every turn must complete');
    t.ok(conditions.includes('vusers.failed == 0'), 'no virtual user may fail');
    t.ok(env.ensure.thresholds.some((th) => 'chat.time_to_first_chunk.p99' in th), 'a bound on time to first chunk');
  });
}
